package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.KnowledgeEvaluation;
import dev.llmembedder.trainer.data.Batches;
import dev.llmembedder.trainer.data.TrainingData;
import dev.llmembedder.trainer.data.TrainingExample;
import dev.llmembedder.trainer.loss.CompositeLoss;
import dev.llmembedder.trainer.loss.InfoNceLoss;
import dev.llmembedder.trainer.loss.KlDistillationLoss;
import dev.llmembedder.trainer.loss.ScoreLoss;
import dev.llmembedder.trainer.loss.StabilizedDistillationLoss;
import dev.llmembedder.trainer.train.AdapterTrainer;
import dev.llmembedder.trainer.train.BatchEncoder;
import dev.llmembedder.trainer.train.EpochStats;
import dev.llmembedder.trainer.train.TrainingBatch;
import dev.llmembedder.trainer.train.TrainingListener;
import dev.llmembedder.trainer.train.TrainingResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code train}: trains a query adapter on LLM-Embedder training rows with the frozen embedded model, and saves it for
 * {@code LlmEmbedder.builder().queryAdapter(path)}. Keys are never adapted, so existing indexes stay valid.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train a query adapter (q' = normalize(W q + b)) on training rows with the model frozen; write it"
        + " for LlmEmbedder.builder().queryAdapter(path). Indexes built with the model stay valid.")
final class TrainCommand implements Callable<Integer> {
  /** The losses {@code --loss} offers. */
  enum LossKind {
    /** InfoNCE on the positive against the other candidates and in-batch keys; needs no teacher scores. */
    contrastive,
    /** LLM-Embedder's stabilized distillation on the teacher scores. */
    stabilized,
    /** KL divergence to the teacher's softmax. */
    kl,
    /** 0.2 x contrastive + 1.0 x stabilized, as LLM-Embedder combines them. */
    composite
  }

  @Mixin ModelOptions model;

  @Option(names = "--data", required = true, split = ",",
      description = "Training rows (LLM-Embedder JSONL, e.g. from `mine` or `score`); several comma-separated files are"
          + " read in order.")
  List<Path> data;

  @Option(names = "--out", required = true, description = "Where to write the adapter.")
  Path out;

  @Option(names = "--loss", defaultValue = "contrastive",
      description = "Loss: ${COMPLETION-CANDIDATES} (all but contrastive need teacher_scores; rows without are"
          + " skipped). Default: ${DEFAULT-VALUE}.")
  LossKind loss;

  @Option(names = "--epochs", defaultValue = "10", description = "Most epochs. Default: ${DEFAULT-VALUE}.")
  int epochs;

  @Option(names = "--batch-size", defaultValue = "16",
      description = "Queries per batch (one task per batch). Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--negatives", defaultValue = "7",
      description = "Negatives per query: rows with more keep their first N, rows with fewer are skipped (batches"
          + " need one shape). Default: ${DEFAULT-VALUE}.")
  int negatives;

  @Option(names = "--lr", defaultValue = "1e-3", description = "AdamW learning rate. Default: ${DEFAULT-VALUE}.")
  double learningRate;

  @Option(names = "--weight-decay", defaultValue = "0",
      description = "Weight decay toward the identity. Default: ${DEFAULT-VALUE}.")
  double weightDecay;

  @Option(names = "--validation", defaultValue = "0.1",
      description = "Fraction of batches held out for validation loss and early stopping (0: none). Default:"
          + " ${DEFAULT-VALUE}.")
  double validation;

  @Option(names = "--patience", defaultValue = "3",
      description = "Epochs without a better validation loss before stopping (0: never). Default: ${DEFAULT-VALUE}.")
  int patience;

  @Option(names = "--checkpoint", description = "Training-state file, written every epoch and every"
      + " --checkpoint-every steps (default: <out>.ckpt).")
  Path checkpoint;

  @Option(names = "--checkpoint-every", defaultValue = "100",
      description = "Steps between checkpoints within an epoch (0: epochs only). Default: ${DEFAULT-VALUE}.")
  int checkpointEvery;

  @Option(names = "--resume", description = "Continue from an existing checkpoint (same data and options); without"
      + " it an existing checkpoint is an error.")
  boolean resume;

  @Option(names = "--seed", defaultValue = "42",
      description = "Seed of batching, the validation split and the epoch order. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--eval-data", description = "Also print nDCG@10 on this BEIR dataset before and after (uses or"
      + " builds the index in index/<dataset>-<model>; building it takes minutes).")
  Path evalData;

  @Option(names = "--eval-split", defaultValue = "test",
      description = "qrels split of --eval-data. Default: ${DEFAULT-VALUE}.")
  String evalSplit;

  /** The last call's training result and validation losses; for tests. */
  TrainingResult result;
  double untrainedValidationLoss = Double.NaN;
  double trainedValidationLoss = Double.NaN;

  @Override
  public Integer call() throws Exception {
    check();
    for (Path file : data) {
      DatasetOptions.requireFile(file, "training rows in LLM-Embedder's JSONL format");
    }
    Path ckpt = checkpoint != null ? checkpoint : out.resolveSibling(out.getFileName() + ".ckpt");
    if (Files.exists(ckpt) && !resume) {
      throw new IllegalArgumentException("checkpoint " + ckpt.toAbsolutePath().normalize() + " exists; pass --resume"
          + " to continue that run, or delete it to train afresh");
    }
    if (resume && !Files.exists(ckpt)) {
      System.out.println("No checkpoint at " + ckpt + ": training from the start");
    } else if (resume) {
      System.out.println("Resuming from " + ckpt);
    }
    BeirDataset eval = evalData != null ? DatasetOptions.load(evalData, evalSplit) : null;

    boolean needsScores = loss != LossKind.contrastive;
    TrainingData.Read read = TrainingData.reader().requireTeacherScores(needsScores).positiveFromTeacher(true)
        .minNegatives(negatives).build().read(data);
    System.out.println("Read " + read);
    if (read.examples().isEmpty()) {
      throw new IllegalArgumentException("no usable training rows in " + data + " (" + read + ")" + (needsScores
          ? "; --loss " + loss + " needs teacher_scores: fill them with `score`" : ""));
    }
    List<TrainingExample> examples = read.examples().stream().map(e -> firstNegatives(e, negatives)).toList();
    List<List<TrainingExample>> grouped = new Batches(batchSize, Batches.LastBatch.KEEP, seed).epoch(examples, 0)
        .stream().map(Batches.Batch::examples).toList();

    double nDcgBefore = Double.NaN;
    if (eval != null) {
      nDcgBefore = ndcg10(eval, null);
    }
    try (Encoder encoder = model.encoderBuilder().queryCacheSize(0).build()) {
      List<TrainingBatch> encoded = encode(new BatchEncoder(encoder), grouped);
      AdapterTrainer.Split split = AdapterTrainer.Split.of(encoded, validation, seed);
      System.out.printf("%d examples in %d batches: %d for training, %d for validation%n", examples.size(),
          encoded.size(), split.train().size(), split.validation().size());
      long totalSteps = (long) epochs * split.train().size();
      try (ProgressBar bar = Corpora.progressBar("Training", totalSteps, " steps")) {
        AdapterTrainer trainer = AdapterTrainer.builder().forEncoder(encoder).loss(lossFunction())
            .learningRate(learningRate).weightDecay(weightDecay).epochs(epochs).patience(patience).seed(seed)
            .checkpoint(ckpt).checkpointEverySteps(checkpointEvery).listener(new TrainingListener() {
              @Override
              public void onStep(int epoch, int stepInEpoch, double stepLoss) {
                bar.stepTo((long) epoch * split.train().size() + stepInEpoch + 1);
                bar.setExtraMessage(String.format(Locale.ROOT, " epoch %d, loss %.4f", epoch, stepLoss));
              }
            }).build();
        result = trainer.fit(split.train(), split.validation());
        if (!split.validation().isEmpty()) {
          untrainedValidationLoss = trainer.meanLoss(
              QueryAdapter.identity(encoder.modelName(), encoder.dimension(), true), split.validation());
          trainedValidationLoss = trainer.meanLoss(result.adapter(), split.validation());
        }
      }
    }
    result.adapter().save(out);
    // the run is done and its adapter saved: the next `train` with this --out starts afresh
    Files.deleteIfExists(ckpt);
    printHistory();
    System.out.printf("Wrote the adapter (%d steps) to %s%n", result.steps(), out.toAbsolutePath().normalize());
    if (eval != null) {
      double nDcgAfter = ndcg10(eval, out);
      System.out.printf(Locale.ROOT, "nDCG@10 on %s/%s: %.4f without the adapter, %.4f with it (%+.4f)%n",
          eval.name(), eval.split(), nDcgBefore, nDcgAfter, nDcgAfter - nDcgBefore);
    }
    return 0;
  }

  private void check() {
    if (epochs < 1) {
      throw new IllegalArgumentException("--epochs is " + epochs + "; expected >= 1");
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size is " + batchSize + "; expected >= 1");
    }
    if (negatives < 0) {
      throw new IllegalArgumentException("--negatives is " + negatives + "; expected >= 0");
    }
    if (!(validation >= 0 && validation < 1)) {
      throw new IllegalArgumentException("--validation is " + validation + "; expected a fraction in [0, 1)");
    }
    if (!(learningRate > 0)) {
      throw new IllegalArgumentException("--lr is " + learningRate + "; expected > 0");
    }
  }

  private ScoreLoss lossFunction() {
    return switch (loss) {
      case contrastive -> new InfoNceLoss();
      case stabilized -> new StabilizedDistillationLoss();
      case kl -> new KlDistillationLoss();
      case composite -> CompositeLoss.of(0.2, new InfoNceLoss(), 1.0, new StabilizedDistillationLoss());
    };
  }

  /** The example with its first {@code n} negatives (and their teacher scores) only. */
  static TrainingExample firstNegatives(TrainingExample e, int n) {
    if (e.negatives().size() <= n) {
      return e;
    }
    List<Double> scores = e.teacherScores().isEmpty() ? List.of()
        : e.teacherScores().subList(0, e.positives().size() + n);
    return new TrainingExample(e.query(), e.positives(), e.negatives().subList(0, n), scores, e.answers(), e.task());
  }

  /** Embeds the batches a few at a time, with a progress bar (the encoder caches what it has embedded). */
  private static List<TrainingBatch> encode(BatchEncoder encoder, List<List<TrainingExample>> batches) {
    List<TrainingBatch> out = new ArrayList<>(batches.size());
    try (ProgressBar bar = Corpora.progressBar("Embedding", batches.size(), " batches")) {
      for (int from = 0; from < batches.size(); from += 4) {
        List<List<TrainingExample>> chunk = batches.subList(from, Math.min(from + 4, batches.size()));
        out.addAll(encoder.encode(chunk));
        bar.stepBy(chunk.size());
      }
    }
    return out;
  }

  private void printHistory() {
    System.out.printf("%n| epoch | train loss | validation loss |%n|-------|------------|-----------------|%n");
    for (EpochStats s : result.history()) {
      System.out.printf(Locale.ROOT, "| %5d | %10.5f | %15.5f |%s%n", s.epoch(), s.trainLoss(), s.validationLoss(),
          s.epoch() == result.bestEpoch() ? " best" : "");
    }
    System.out.println();
    if (!Double.isNaN(trainedValidationLoss)) {
      System.out.printf(Locale.ROOT, "Validation loss: %.5f untrained, %.5f trained (best epoch %s)%n",
          untrainedValidationLoss, trainedValidationLoss,
          result.bestEpoch() < 0 ? "none: no epoch beat the untrained adapter, which is kept" : result.bestEpoch());
    } else {
      System.out.println("No validation batches: the last epoch's adapter is kept");
    }
    if (result.stoppedEarly()) {
      System.out.println("Stopped early: no improvement for " + patience + " epochs");
    }
  }

  /** nDCG@10 of knowledge retrieval on {@code data}, with the adapter file or without. */
  private double ndcg10(BeirDataset dataset, Path adapter) {
    LlmEmbedder.Builder b = model.embedderBuilder().queryCacheSize(0)
        .storageDirectory(DatasetOptions.defaultStore(dataset, model));
    if (adapter != null) {
      b.queryAdapter(adapter);
    }
    try (LlmEmbedder embedder = b.build()) {
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      if (!stats.reused()) {
        System.out.printf("Indexed %d documents in %.1f s%n", stats.docs(), stats.seconds());
      }
      String instruction = embedder.encoder().instructions().forTask(Task.QA).query();
      return KnowledgeEvaluation.evaluate(embedder.knowledge(), dataset, 100, instruction).metrics().get("ndcg@10");
    }
  }
}
