package dev.llmembedder.trainer.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.CorpusDoc;
import dev.llmembedder.trainer.data.Batches;
import dev.llmembedder.trainer.data.TrainingExample;
import dev.llmembedder.trainer.testing.SharedData;
import dev.llmembedder.trainer.train.TrainingListener;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The DJL forward pass against the SDK's ONNX Runtime encoder on the embedded fp32 bge-small-en-v1.5, then training a
 * few steps on real SciFact rows, exporting to ONNX and reloading with the SDK's encoder.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FullFineTuneTest {
  private Encoder onnx;
  private EncoderFineTuner tuner;
  private BeirDataset scifact;

  @BeforeAll
  void load() throws IOException {
    scifact = BeirDataset.load(SharedData.require("data/scifact"), "train");
    onnx = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15).queryCacheSize(0).build();
    tuner = EncoderFineTuner.builder().preset(ModelPreset.BGE_SMALL_EN_V15).build();
  }

  @AfterAll
  void close() {
    if (tuner != null) {
      tuner.close();
    }
    if (onnx != null) {
      onnx.close();
    }
  }

  private List<String> abstracts(int n) {
    List<String> out = new ArrayList<>();
    for (CorpusDoc doc : scifact.corpus().values()) {
      if (out.size() == n) {
        break;
      }
      out.add(doc.titleAndText());
    }
    return out;
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  /** The smallest cosine between the two encoders' embeddings of each text. */
  private double agreement(List<String> texts, String instruction, int maxTokens) {
    float[][] expected = onnx.encode(texts, instruction, maxTokens);
    float[][] actual = tuner.encode(texts, instruction, maxTokens);
    assertEquals(texts.size(), actual.length);
    double min = 1;
    for (int i = 0; i < texts.size(); i++) {
      assertEquals(expected[i].length, actual[i].length);
      min = Math.min(min, cosine(expected[i], actual[i]));
    }
    return min;
  }

  @Test
  void theDjlForwardPassAgreesWithOnnxRuntime() {
    // long abstracts (up to 512 tokens, some truncated), padded together in one chunk with short ones
    List<String> texts = new ArrayList<>(abstracts(6));
    texts.add("Tides");
    texts.add("");
    String queryInstruction = onnx.instructions().forTask(Task.QA).query();
    double passages = agreement(texts, "", 512);
    List<String> claims = new ArrayList<>(scifact.queries().values()).subList(0, 8);
    double queries = agreement(claims, queryInstruction, 512);
    double truncated = agreement(abstracts(3), "", 32);
    System.out.printf("DJL vs ONNX Runtime, smallest cosine: passages %.7f, queries %.7f, truncated to 32 tokens"
        + " %.7f%n", passages, queries, truncated);
    assertTrue(passages >= 0.9999, "passages: " + passages);
    assertTrue(queries >= 0.9999, "queries: " + queries);
    assertTrue(truncated >= 0.9999, "truncated: " + truncated);
  }

  /**
   * {@code n} SciFact train claims, each with its first judged abstract as the positive and the abstract after it in
   * the corpus as the negative, or the other way round when {@code swapped} (a hard task: the loss starts high).
   */
  private List<TrainingExample> claims(int from, int n, boolean swapped) {
    List<String> ids = new ArrayList<>(scifact.corpus().keySet());
    List<TrainingExample> out = new ArrayList<>();
    for (String q : scifact.queries().keySet()) {
      String positive = scifact.qrels().getOrDefault(q, Map.of()).keySet().stream()
          .filter(scifact.corpus()::containsKey).findFirst().orElse(null);
      if (positive == null) {
        continue;
      }
      if (from-- > 0) {
        continue;
      }
      String negative = ids.get((ids.indexOf(positive) + 1) % ids.size());
      String pos = scifact.corpus().get(swapped ? negative : positive).titleAndText();
      String neg = scifact.corpus().get(swapped ? positive : negative).titleAndText();
      out.add(new TrainingExample(scifact.queries().get(q), List.of(pos), List.of(neg), List.of(), List.of(), Task.QA));
      if (out.size() == n) {
        break;
      }
    }
    return out;
  }

  @Test
  void theGradientOfTheThreePassStepMatchesFiniteDifferences() {
    // small chunks: the 4 queries and 8 keys run in several forward and backward passes
    try (EncoderFineTuner small = EncoderFineTuner.builder().preset(ModelPreset.BGE_SMALL_EN_V15).keyMaxTokens(48)
        .chunkTokens(200).build()) {
      Batches.Batch batch = new Batches.Batch(Task.QA, claims(0, 4, false));
      String name = "encoder.layer.11.output.LayerNorm.bias";
      NDArray bias = small.model().parameters().get(name);
      float[] original = bias.toFloatArray();
      small.accumulateGradient(batch, 1.0);
      float[] gradient;
      try (NDArray g = bias.getGradient()) {
        gradient = g.toFloatArray();
      }
      // the directional derivative along a random unit direction, against a central difference of the loss
      Random random = new Random(3);
      double[] direction = new double[original.length];
      double norm = 0;
      for (int i = 0; i < direction.length; i++) {
        direction[i] = random.nextGaussian();
        norm += direction[i] * direction[i];
      }
      double analytic = 0;
      for (int i = 0; i < direction.length; i++) {
        direction[i] /= Math.sqrt(norm);
        analytic += gradient[i] * direction[i];
      }
      double eps = 1e-2;
      double[] losses = new double[2];
      for (int side = 0; side < 2; side++) {
        float[] moved = original.clone();
        for (int i = 0; i < moved.length; i++) {
          moved[i] += (float) ((side == 0 ? eps : -eps) * direction[i]);
        }
        bias.set(moved);
        losses[side] = small.meanLoss(List.of(batch));
      }
      bias.set(original);
      double numeric = (losses[0] - losses[1]) / (2 * eps);
      System.out.printf("d loss / d %s along a random direction: analytic %.5e, central difference %.5e%n", name,
          analytic, numeric);
      assertTrue(Math.abs(analytic) > 1e-5, "a gradient to compare: " + analytic);
      assertEquals(numeric, analytic, 0.02 * Math.abs(numeric));
    }
  }

  @Test
  void trainsExportsToOnnxAndTheSdkEncoderReproducesTheTrainedModel(@TempDir Path dir) throws IOException {
    // swapped labels: the model must learn to prefer an unrelated abstract, so the loss has far to fall
    List<TrainingExample> train = claims(10, 4, true);
    List<Batches.Batch> batches = new Batches(2, Batches.LastBatch.KEEP, 42).epoch(train, 0);
    List<String> probe = new ArrayList<>();
    probe.add(train.get(0).query());
    probe.add(train.get(0).positives().get(0));
    probe.addAll(abstracts(2));
    String instruction = onnx.instructions().forTask(Task.QA).query();
    Path exported = dir.resolve("bge-small-scifact");
    float[][] trained;
    FineTuneResult result;
    try (EncoderFineTuner small = EncoderFineTuner.builder().preset(ModelPreset.BGE_SMALL_EN_V15).batchSize(2)
        .epochs(2).patience(0).learningRate(5e-5).warmupFraction(0).keyMaxTokens(64).build()) {
      double before = small.meanLoss(batches);
      result = small.fit(train, List.of());
      double after = small.meanLoss(batches);
      System.out.printf("loss on the training claims: %.4f untrained, %.4f after %d steps%n", before, after,
          result.steps());
      assertTrue(after < 0.8 * before, before + " -> " + after);
      small.export(exported);
      trained = small.encode(probe, instruction, 512);
    }
    System.out.printf("full fine-tuning, 4 claims: train loss by epoch %s, %d steps in %.1f s (%.2f batches/s)%n",
        result.history().stream().map(s -> String.format("%.4f", s.trainLoss())).toList(), result.steps(),
        result.seconds(), result.batchesPerSecond());
    assertEquals(2, result.history().size());
    assertEquals(4, result.steps());
    assertTrue(Files.size(exported.resolve("model.onnx")) > 100_000_000);
    assertTrue(Files.exists(exported.resolve("tokenizer.json")));
    try (Encoder reloaded = Encoder.builder().modelDirectory(exported, ModelFamily.BGE_V15).queryCacheSize(0)
        .build()) {
      assertEquals("bge-small-scifact", reloaded.modelName());
      float[][] fromOnnx = reloaded.encode(probe, instruction, 512);
      float[][] original = onnx.encode(probe, instruction, 512);
      double agree = 1;
      double moved = 1;
      for (int i = 0; i < probe.size(); i++) {
        agree = Math.min(agree, cosine(trained[i], fromOnnx[i]));
        moved = Math.min(moved, cosine(original[i], fromOnnx[i]));
      }
      System.out.printf("exported model: cosine to the DJL embeddings >= %.7f, to the original model's >= %.5f%n",
          agree, moved);
      assertTrue(agree >= 0.9999, "the exported ONNX model reproduces the trained DJL model: " + agree);
      assertTrue(moved < 0.9999, "training changed the model: " + moved);
    }
  }

  private static EncoderFineTuner.Builder smallRun() {
    return EncoderFineTuner.builder().preset(ModelPreset.BGE_SMALL_EN_V15).batchSize(2).epochs(2).patience(0)
        .learningRate(5e-5).warmupFraction(0.25).weightDecay(0.01).keyMaxTokens(48).queryMaxTokens(32);
  }

  @Test
  void anInterruptedRunResumesFromItsCheckpointAndEndsAsTheUninterruptedOne(@TempDir Path dir) throws IOException {
    // 6 claims in batches of 2, 2 epochs: 6 optimiser steps; a checkpoint every 4 steps and after each epoch
    List<TrainingExample> train = claims(20, 6, true);
    List<TrainingExample> validation = claims(30, 2, false);
    List<String> probe = List.of(train.get(0).query(), train.get(0).positives().get(0));
    String instruction = onnx.instructions().forTask(Task.QA).query();
    FineTuneResult expected;
    float[][] expectedEmbeddings;
    try (EncoderFineTuner whole = smallRun().build()) {
      expected = whole.fit(train, validation);
      expectedEmbeddings = whole.encode(probe, instruction, 64);
    }
    assertEquals(6, expected.steps());

    Path checkpoint = dir.resolve("run.ckpt");
    RuntimeException crash = new IllegalStateException("killed");
    try (EncoderFineTuner first = smallRun().checkpoint(checkpoint).checkpointEverySteps(4)
        .listener(new TrainingListener() {
          @Override
          public void onStep(int epoch, int stepInEpoch, double loss) {
            if (epoch == 1 && stepInEpoch == 1) {
              throw crash; // after step 5; the last checkpoint is from step 4 (epoch 1, batch 0)
            }
          }
        }).build()) {
      assertThrows(IllegalStateException.class, () -> first.fit(train, validation));
    }
    assertTrue(Files.size(checkpoint) > 3 * 130_000_000L, "weights and both moments: " + Files.size(checkpoint));
    List<Integer> resumedSteps = new ArrayList<>();
    FineTuneResult resumed;
    float[][] resumedEmbeddings;
    try (EncoderFineTuner second = smallRun().checkpoint(checkpoint).listener(new TrainingListener() {
      @Override
      public void onStep(int epoch, int stepInEpoch, double loss) {
        resumedSteps.add(epoch * 10 + stepInEpoch);
      }
    }).build()) {
      resumed = second.fit(train, validation);
      resumedEmbeddings = second.encode(probe, instruction, 64);
    }
    assertEquals(List.of(11, 12), resumedSteps, "resumed at epoch 1, batch 1");
    assertEquals(expected.steps(), resumed.steps());
    assertEquals(expected.batches(), resumed.batches());
    assertEquals(expected.bestEpoch(), resumed.bestEpoch());
    assertEquals(expected.history().size(), resumed.history().size());
    for (int e = 0; e < expected.history().size(); e++) {
      assertEquals(expected.history().get(e).trainLoss(), resumed.history().get(e).trainLoss(), 1e-6);
      assertEquals(expected.history().get(e).validationLoss(), resumed.history().get(e).validationLoss(), 1e-6);
    }
    for (int i = 0; i < probe.size(); i++) {
      double c = cosine(expectedEmbeddings[i], resumedEmbeddings[i]);
      assertTrue(c >= 0.999999, "the resumed run ends where the uninterrupted one does: cosine " + c);
    }

    // the finished run's checkpoint: fit returns its result and weights at once
    try (EncoderFineTuner third = smallRun().checkpoint(checkpoint).build()) {
      FineTuneResult again = third.fit(train, validation);
      assertEquals(resumed.history(), again.history());
      float[][] againEmbeddings = third.encode(probe, instruction, 64);
      assertTrue(cosine(resumedEmbeddings[0], againEmbeddings[0]) >= 0.9999999);
    }
    // another run's settings, other examples and a damaged file are refused, naming the file
    try (EncoderFineTuner other = smallRun().learningRate(1e-4).checkpoint(checkpoint).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> other.fit(train, validation));
      assertTrue(e.getMessage().contains(checkpoint.toString()) && e.getMessage().contains("another run"),
          e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> other.fit(train.subList(0, 4), validation));
      assertTrue(e.getMessage().contains("another run"), e.getMessage());
    }
    try (EncoderFineTuner clipped = smallRun().maxGradNorm(1.0).checkpoint(checkpoint).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> clipped.fit(train, validation));
      assertTrue(e.getMessage().contains("another run"), "clipping is a setting of the run: " + e.getMessage());
    }
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> smallRun().maxGradNorm(-1));
    assertTrue(bad.getMessage().contains("maxGradNorm is -1.0"), bad.getMessage());
    try (EncoderFineTuner same = smallRun().checkpoint(checkpoint).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> same.fit(train.subList(0, 4), validation));
      assertTrue(e.getMessage().contains("other data"), e.getMessage());
      try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(checkpoint,
          java.nio.file.StandardOpenOption.WRITE)) {
        channel.write(java.nio.ByteBuffer.wrap(new byte[] {42, 42, 42}), Files.size(checkpoint) / 2);
      }
      e = assertThrows(IllegalArgumentException.class, () -> same.fit(train, validation));
      assertTrue(e.getMessage().contains(checkpoint.toString()) && e.getMessage().contains("checksum"),
          e.getMessage());
    }
  }

  @Test
  void readsTheWeightsFromModelSafetensorsWhenTheDirectoryHasOne(@TempDir Path dir) throws IOException {
    // a model directory as HuggingFace ships one: the ONNX export, the tokenizer, config.json and model.safetensors
    // (BertForMaskedLM-style names with a "bert." prefix, PyTorch's [out, in] linear weights, a pooler the encoder
    // does not use), whose last LayerNorm bias differs from the ONNX file's: the weights must come from it
    String changed = "encoder.layer.11.output.LayerNorm.bias";
    Map<String, NDArray> weights = tuner.model().parameters();
    float[] bias = weights.get(changed).toFloatArray();
    float[] shifted = bias.clone();
    for (int i = 0; i < shifted.length; i++) {
      shifted[i] += 0.05f * ((i % 7) - 3);
    }
    try (NDManager manager = NDManager.newBaseManager("PyTorch"); NDList list = new NDList()) {
      for (Map.Entry<String, NDArray> e : weights.entrySet()) {
        float[] values = e.getKey().equals(changed) ? shifted : e.getValue().toFloatArray();
        NDArray array = manager.create(values, e.getValue().getShape());
        array.setName("bert." + e.getKey());
        list.add(array);
      }
      NDArray pooler = manager.zeros(new Shape(384, 384));
      pooler.setName("bert.pooler.dense.weight");
      list.add(pooler);
      try (OutputStream out = Files.newOutputStream(dir.resolve("model.safetensors"))) {
        list.encode(out, NDList.Encoding.SAFETENSORS);
      }
    }
    Path model = dir.resolve("model.onnx");
    try (var in = getClass().getClassLoader().getResourceAsStream("bge-small-en-v1.5.onnx");
        var tokenizer = getClass().getClassLoader().getResourceAsStream("bge-small-en-v1.5-tokenizer.json")) {
      Files.copy(in, model);
      Files.copy(tokenizer, dir.resolve("tokenizer.json"));
    }
    Files.writeString(dir.resolve("config.json"), "{\"num_attention_heads\": 12, \"layer_norm_eps\": 1e-12}");
    List<String> texts = abstracts(2);
    float[][] fromSafetensors;
    try (EncoderFineTuner fromDirectory = EncoderFineTuner.builder().modelDirectory(dir, ModelFamily.BGE_V15)
        .build()) {
      fromSafetensors = fromDirectory.encode(texts, "", 512);
    }
    float[][] unchanged = tuner.encode(texts, "", 512);
    weights.get(changed).set(shifted);
    float[][] expected;
    try {
      expected = tuner.encode(texts, "", 512);
    } finally {
      weights.get(changed).set(bias);
    }
    for (int i = 0; i < texts.size(); i++) {
      assertTrue(cosine(fromSafetensors[i], expected[i]) >= 0.9999, "the safetensors weights are used");
      assertTrue(cosine(fromSafetensors[i], unchanged[i]) < 0.9999, "not the ONNX file's");
    }
  }
}
