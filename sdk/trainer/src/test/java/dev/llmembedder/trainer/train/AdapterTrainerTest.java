package dev.llmembedder.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.loss.CompositeLoss;
import dev.llmembedder.trainer.loss.InfoNceLoss;
import dev.llmembedder.trainer.loss.KlDistillationLoss;
import dev.llmembedder.trainer.loss.ScoreLoss;
import dev.llmembedder.trainer.loss.StabilizedDistillationLoss;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on synthetic rotation data: it must learn, reproducibly, resumably, and stop early when told. */
class AdapterTrainerTest {
  private static final int D = 16;
  /** 400 queries: 0-319 train, 320-399 held out; 7 negatives each from 400 distractors. */
  private static final Synthetic DATA = new Synthetic(D, 400, 400, 0.05, 11);
  private static final List<TrainingBatch> TRAIN = DATA.batches(0, 320, 7, 32);
  private static final List<TrainingBatch> VALIDATION = DATA.batches(320, 400, 7, 32);

  private static AdapterTrainer.Builder trainer() {
    return AdapterTrainer.builder().modelName("synthetic").learningRate(0.01).epochs(12).patience(3);
  }

  @Test
  void trainingLearnsTheRotation() {
    QueryAdapter identity = QueryAdapter.identity("synthetic", D, true);
    double before = DATA.recallAt1(identity, 320, 400);
    AdapterTrainer t = trainer().epochs(60).patience(5).build();
    TrainingResult result = t.fit(TRAIN, VALIDATION);
    double after = DATA.recallAt1(result.adapter(), 320, 400);
    float[][] rotation = new float[D][D];
    for (int i = 0; i < D; i++) {
      for (int j = 0; j < D; j++) {
        rotation[i][j] = (float) DATA.rotation[i][j];
      }
    }
    assertEquals(1.0, DATA.recallAt1(QueryAdapter.of("synthetic", rotation, null), 320, 400),
        "the true rotation finds every key: the task is solvable");
    double lossBefore = t.meanLoss(identity, VALIDATION);
    double lossAfter = t.meanLoss(result.adapter(), VALIDATION);
    System.out.printf("synthetic rotation, held-out recall@1 among 80 keys: %.3f -> %.3f; validation loss %.3f ->"
        + " %.3f in %d epochs%n", before, after, lossBefore, lossAfter, result.history().size());
    assertTrue(before < 0.2, "without the adapter queries are nearly unrelated to their keys: " + before);
    assertTrue(after > 0.9, "held-out recall@1 after training: " + after);
    assertTrue(lossAfter < 0.25 * lossBefore, lossBefore + " -> " + lossAfter);
    assertEquals(lossBefore, result.baselineMetric(), 1e-4, "the baseline is the identity's validation loss");
    EpochStats first = result.history().get(0);
    EpochStats last = result.history().get(result.history().size() - 1);
    assertTrue(last.trainLoss() < first.trainLoss(), "training loss decreases");
    assertEquals(first.validationLoss(), first.metric(), "without an evaluator the metric is the validation loss");
    assertEquals(result.history().size() * (long) TRAIN.size(), result.steps());
  }

  @Test
  void distillationLossesLearnToo() {
    // teacher scores are 10 x the true similarities k_j . k_i (10 for the positive): distilling them, with the
    // default settings, also recovers the rotation. KL distillation sees only each query's own 8 candidates (no
    // in-batch negatives) and fits the training queries completely (loss ~ 1e-5), so it generalises less: about
    // 0.6 held-out recall against about 0.99 for the losses with in-batch negatives.
    QueryAdapter identity = QueryAdapter.identity("synthetic", D, true);
    double before = DATA.recallAt1(identity, 320, 400);
    Map<ScoreLoss, Double> minimum = new LinkedHashMap<>();
    minimum.put(new StabilizedDistillationLoss(), 0.9);
    minimum.put(new KlDistillationLoss(), 0.5);
    minimum.put(CompositeLoss.of(0.2, new InfoNceLoss(), 1.0, new StabilizedDistillationLoss()), 0.9);
    minimum.forEach((loss, atLeast) -> {
      TrainingResult result = trainer().loss(loss).epochs(60).patience(5).build().fit(TRAIN, VALIDATION);
      double after = DATA.recallAt1(result.adapter(), 320, 400);
      System.out.printf("%s: held-out recall@1 %.3f -> %.3f%n", loss, before, after);
      assertTrue(after > atLeast, loss + ": " + before + " -> " + after);
    });
  }

  @Test
  void theSameSeedGivesBitIdenticalWeights() {
    TrainingResult a = trainer().epochs(3).seed(5).build().fit(TRAIN, VALIDATION);
    TrainingResult b = trainer().epochs(3).seed(5).build().fit(TRAIN, VALIDATION);
    TrainingResult c = trainer().epochs(3).seed(6).build().fit(TRAIN, VALIDATION);
    assertEquals(a.adapter(), b.adapter(), "QueryAdapter.equals compares the float bits of every weight");
    assertEquals(a.history(), b.history());
    assertNotEquals(a.adapter(), c.adapter(), "another seed shuffles the batches differently");
  }

  @Test
  void resumingAfterACrashGivesTheUninterruptedResult(@TempDir Path dir) {
    TrainingResult uninterrupted = trainer().epochs(4).build().fit(TRAIN, VALIDATION);
    Path checkpoint = dir.resolve("run/adapter.ckpt");
    // crash in the middle of epoch 1, four steps after the last checkpoint (every 3 steps: 10 steps an epoch)
    class Crash extends RuntimeException {}
    TrainingListener crashMidEpoch = new TrainingListener() {
      @Override
      public void onStep(int epoch, int stepInEpoch, double loss) {
        if (epoch == 1 && stepInEpoch == 6) {
          throw new Crash();
        }
      }
    };
    assertThrows(Crash.class, () -> trainer().epochs(4).checkpoint(checkpoint).checkpointEverySteps(3)
        .listener(crashMidEpoch).build().fit(TRAIN, VALIDATION));
    // then crash right after epoch 2's validation and checkpoint
    TrainingListener crashAtEpochEnd = new TrainingListener() {
      @Override
      public void onEpoch(EpochStats stats) {
        if (stats.epoch() == 2) {
          throw new Crash();
        }
      }
    };
    assertThrows(Crash.class, () -> trainer().epochs(4).checkpoint(checkpoint).checkpointEverySteps(3)
        .listener(crashAtEpochEnd).build().fit(TRAIN, VALIDATION));
    List<Integer> resumedEpochs = new ArrayList<>();
    TrainingResult resumed = trainer().epochs(4).checkpoint(checkpoint).checkpointEverySteps(3)
        .listener(new TrainingListener() {
          @Override
          public void onEpoch(EpochStats stats) {
            resumedEpochs.add(stats.epoch());
          }
        }).build().fit(TRAIN, VALIDATION);
    assertEquals(List.of(3), resumedEpochs, "only the last epoch was left");
    assertEquals(uninterrupted.adapter(), resumed.adapter());
    assertEquals(uninterrupted.history(), resumed.history());
    assertEquals(uninterrupted.steps(), resumed.steps());
    assertFalse(Files.exists(dir.resolve("run/adapter.ckpt.tmp")), "no temporary file is left");
    // a finished run's checkpoint returns its result without training
    TrainingResult again = trainer().epochs(4).checkpoint(checkpoint).listener(new TrainingListener() {
      @Override
      public void onStep(int epoch, int stepInEpoch, double loss) {
        throw new AssertionError("a finished run does not train");
      }
    }).build().fit(TRAIN, VALIDATION);
    assertEquals(uninterrupted.adapter(), again.adapter());
  }

  @Test
  void aCheckpointOfAnotherRunOrDamagedIsRefused(@TempDir Path dir) throws IOException {
    Path checkpoint = dir.resolve("adapter.ckpt");
    trainer().epochs(1).checkpoint(checkpoint).build().fit(TRAIN, VALIDATION);
    String message = assertThrows(IllegalArgumentException.class,
        () -> trainer().epochs(1).learningRate(0.02).checkpoint(checkpoint).build().fit(TRAIN, VALIDATION))
        .getMessage();
    assertTrue(message.startsWith("training checkpoint " + checkpoint + " belongs to another run"), message);
    assertTrue(message.contains("learningRate=0.01") && message.contains("learningRate=0.02"), message);

    message = assertThrows(IllegalArgumentException.class,
        () -> trainer().epochs(1).checkpoint(checkpoint).build().fit(VALIDATION, TRAIN)).getMessage();
    assertTrue(message.startsWith("training checkpoint " + checkpoint + " was trained on other data"), message);

    byte[] bytes = Files.readAllBytes(checkpoint);
    bytes[bytes.length / 2] ^= 1;
    Files.write(checkpoint, bytes);
    message = assertThrows(IllegalArgumentException.class,
        () -> trainer().epochs(1).checkpoint(checkpoint).build().fit(TRAIN, VALIDATION)).getMessage();
    assertTrue(message.startsWith("training checkpoint " + checkpoint + " fails its checksum"), message);
  }

  @Test
  void earlyStoppingKeepsTheBestEpochByTheEvaluator() {
    // an evaluator that likes epoch 1's adapter best: scores 0.1 (untrained), 0.5, 0.9, then 0.3, 0.2, ...
    double[] scores = {0.1, 0.5, 0.9, 0.3, 0.2, 0.1, 0.0};
    List<QueryAdapter> seen = new ArrayList<>();
    TrainingResult result = trainer().epochs(10).patience(2).evaluator(adapter -> {
      seen.add(adapter);
      return scores[seen.size() - 1];
    }).build().fit(TRAIN, List.of());
    assertTrue(result.stoppedEarly());
    assertEquals(4, result.history().size(), "epochs 0 and 1 improve, 2 and 3 do not: stop after 3");
    assertEquals(1, result.bestEpoch());
    assertEquals(0.1, result.baselineMetric());
    assertEquals(seen.get(2), result.adapter(), "the result is the adapter the evaluator scored 0.9");
    assertEquals(List.of(true, true, false, false), result.history().stream().map(EpochStats::improved).toList());
    assertTrue(Double.isNaN(result.history().get(0).validationLoss()), "no validation batches");
  }

  @Test
  void whenNoEpochBeatsTheUntrainedAdapterTheResultIsTheIdentity() {
    TrainingResult result = trainer().epochs(5).patience(2).evaluator(adapter -> adapter.isIdentity() ? 1 : 0)
        .build().fit(TRAIN, VALIDATION);
    assertEquals(-1, result.bestEpoch());
    assertTrue(result.adapter().isIdentity());
    assertEquals(2, result.history().size());
  }

  @Test
  void badInputIsNamed() {
    List<TrainingBatch> unlabeled = List.of(new TrainingBatch(Task.QA, List.of(
        new EmbeddedExample(DATA.queries[0], new float[][] {DATA.keys[0]}, EmbeddedExample.NO_POSITIVE,
            new double[] {1}))));
    String message = assertThrows(IllegalArgumentException.class, () -> trainer().build().fit(unlabeled, List.of()))
        .getMessage();
    assertEquals("train batch 0 (qa): InfoNceLoss needs the positives (hard labels); the targets have only teacher"
        + " scores", message);
    List<TrainingBatch> small = new Synthetic(8, 4, 4, 0.1, 1).batches(0, 4, 1, 2);
    assertEquals("validation batch 0 has dimension 8; the first training batch has 16", assertThrows(
        IllegalArgumentException.class, () -> trainer().build().fit(TRAIN, small)).getMessage());
    assertEquals("example 1 has dimension 16 and 2 candidates; example 0 has 16 and 4 (a batch needs the same of both)",
        assertThrows(IllegalArgumentException.class, () -> new TrainingBatch(Task.QA, List.of(
            DATA.examples(0, 10, 3).get(0), DATA.examples(0, 10, 1).get(0)))).getMessage());
    assertEquals("the adapter's model is unknown: call forEncoder(encoder) or modelName(...)",
        assertThrows(IllegalStateException.class, () -> AdapterTrainer.builder().build()).getMessage());
    assertEquals("learningRate is -1.0; must be positive and finite", assertThrows(IllegalArgumentException.class,
        () -> AdapterTrainer.builder().learningRate(-1)).getMessage());
  }

  @Test
  void splitHoldsOutWholeBatchesBySeed() {
    AdapterTrainer.Split split = AdapterTrainer.Split.of(TRAIN, 0.2, 1);
    assertEquals(2, split.validation().size());
    assertEquals(8, split.train().size());
    List<TrainingBatch> all = new ArrayList<>(split.train());
    all.addAll(split.validation());
    assertTrue(all.containsAll(TRAIN) && all.size() == TRAIN.size());
    assertEquals(split, AdapterTrainer.Split.of(TRAIN, 0.2, 1));
    assertNotEquals(split.validation(), AdapterTrainer.Split.of(TRAIN, 0.2, 2).validation());
  }
}
