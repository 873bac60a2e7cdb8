package dev.llmembedder.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.llmembedder.trainer.testing.SharedData;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against the real tiny-random-gpt2 ONNX graph (random weights: only the arithmetic is checked, not the rewards). */
class OnnxCausalLmScorerTest {
  private static final String MODEL = "models/tiny-random-gpt2";

  private static Path dir;
  private static OnnxCausalLmScorer scorer;
  private static HuggingFaceTokenizer tokenizer;

  private static final List<ScoreRequest> REQUESTS = List.of(
      new ScoreRequest("Paris is the capital and largest city of France.", "What is the capital of France?", "Paris"),
      new ScoreRequest("Berlin is the capital of Germany.", "What is the capital of France?", "Paris"),
      new ScoreRequest("", "Who wrote Pride and Prejudice?", "Jane Austen, in 1813"),
      new ScoreRequest("The mitochondrion is the powerhouse of the cell; it makes ATP through oxidative "
          + "phosphorylation, which needs oxygen.", "What makes ATP?", "the mitochondrion"),
      new ScoreRequest("Émile Zola wrote Germinal — 1885 ☕.", "Qui a écrit Germinal ?", "Émile Zola 😀"),
      new ScoreRequest("x", "y", "z"));

  @BeforeAll
  static void load() throws IOException {
    dir = SharedData.require(MODEL);
    scorer = OnnxCausalLmScorer.builder(dir).intraOpThreads(1).build();
    tokenizer = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"),
        Map.of("truncation", "false", "padding", "false"));
  }

  @AfterAll
  static void close() {
    if (scorer != null) {
      scorer.close();
    }
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  @Test
  void scoresOnlyTheAnswerTokensOfARandomModel() {
    List<AnswerLogProbs> all = scorer.logProbs(REQUESTS);
    assertEquals(REQUESTS.size(), all.size());
    double total = 0;
    int count = 0;
    for (int i = 0; i < all.size(); i++) {
      // one log-prob per token of the answer tokenized alone: none for the prompt
      assertEquals(tokenizer.encode(REQUESTS.get(i).answer(), false, false).getIds().length, all.get(i).tokenCount(),
          "answer tokens of request " + i);
      for (double lp : all.get(i).tokenLogProbs()) {
        assertTrue(lp < 0, "log-prob " + lp);
        total += lp;
        count++;
      }
    }
    // random weights: about uniform over the 1,000 ids, -ln 1000 = -6.91
    double mean = total / count;
    assertTrue(mean > -8.5 && mean < -5.5, "mean log-prob " + mean);
    assertEquals(512, scorer.maxTokens(), "context from genai_config.json");
    assertEquals(0, scorer.score(List.of()).length);
  }

  @Test
  void batchedScoresEqualOneByOneScores() {
    double[] batched = scorer.score(REQUESTS);
    double maxDiff = 0;
    for (int i = 0; i < REQUESTS.size(); i++) {
      double single = scorer.score(REQUESTS.get(i));
      maxDiff = Math.max(maxDiff, Math.abs(batched[i] - single));
    }
    System.out.printf("tiny-random-gpt2: max |batched - single| = %.3e over %d requests%n", maxDiff, REQUESTS.size());
    assertTrue(maxDiff < 1e-4, "max |batched - single| = " + maxDiff);
    // another batch composition (2 rows per run) gives the same too
    try (OnnxCausalLmScorer small = OnnxCausalLmScorer.builder(dir).batchSize(2).intraOpThreads(1).build()) {
      double[] pairs = small.score(REQUESTS);
      for (int i = 0; i < pairs.length; i++) {
        assertEquals(batched[i], pairs[i], 1e-4, "request " + i);
      }
    }
  }

  /**
   * An oracle written from the definition, on the test model's known interface: one unpadded row, P(o_i | ...) read
   * from the logits at the position before o_i.
   */
  @Test
  void matchesADirectOnnxRuntimeRunOfOneRow() throws Exception {
    ScoreRequest request = REQUESTS.get(4);
    long[] prompt = tokenizer.encode(RewardPrompt.DEFAULT.render(request), true, false).getIds();
    long[] answer = tokenizer.encode(request.answer(), false, false).getIds();
    long[] ids = concat(prompt, answer);
    int n = ids.length;
    int[] inputIds = new int[n];
    int[] positions = new int[n];
    int[] mask = new int[n];
    for (int t = 0; t < n; t++) {
      inputIds[t] = (int) ids[t];
      positions[t] = t;
      mask[t] = 1;
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    double expected = 0;
    try (OrtSession session = env.createSession(dir.resolve("model.onnx").toString())) {
      Map<String, OnnxTensor> inputs = new HashMap<>();
      long[] shape = {1, n};
      inputs.put("input_ids", OnnxTensor.createTensor(env, IntBuffer.wrap(inputIds), shape));
      inputs.put("position_ids", OnnxTensor.createTensor(env, IntBuffer.wrap(positions), shape));
      inputs.put("attention_mask", OnnxTensor.createTensor(env, IntBuffer.wrap(mask), shape));
      for (int layer = 0; layer < 5; layer++) {
        inputs.put("past_" + layer, OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[] {2, 1, 4, 0, 8}));
      }
      try (OrtSession.Result result = session.run(inputs)) {
        float[][][] logits = (float[][][]) result.get("logits").orElseThrow().getValue();
        for (int j = prompt.length; j < n; j++) {
          float[] before = logits[0][j - 1];
          double z = 0;
          for (float v : before) {
            z += Math.exp(v);
          }
          expected += before[(int) ids[j]] - Math.log(z);
        }
      } finally {
        inputs.values().forEach(OnnxTensor::close);
      }
    }
    assertEquals(expected, scorer.score(request), 1e-4);
    assertEquals(expected, scorer.score(REQUESTS)[4], 1e-4);
  }

  /**
   * The chain rule: log P(A1 A2 | P) = log P(A1 | P) + log P(A2 | P A1). It holds only if exactly the answer's tokens
   * are scored (a prompt token counted, or an answer token left out, breaks it).
   */
  @Test
  void chainRuleHoldsSoEachAnswerTokenIsScoredFromTheRightPosition() {
    String candidate = "Paris is the capital of France.";
    String query = "What is the capital of France?";
    String first = "Paris\n";
    String second = "It is in France.";
    String prompt = RewardPrompt.DEFAULT.render(candidate, query);
    // the split is clean: the joint text tokenizes as the parts do
    long[] joint = tokenizer.encode(prompt + first, false, false).getIds();
    long[] parts = concat(tokenizer.encode(prompt, false, false).getIds(), tokenizer.encode(first, false, false).getIds());
    assertArrayEquals(parts, joint);

    double whole = scorer.score(new ScoreRequest(candidate, query, first + second));
    double head = scorer.score(new ScoreRequest(candidate, query, first));
    double tail;
    try (OnnxCausalLmScorer rest = OnnxCausalLmScorer.builder(dir).intraOpThreads(1)
        .prompt(new RewardPrompt("{candidate}\n{query}\n" + first)).build()) {
      tail = rest.score(new ScoreRequest(candidate, query, second));
    }
    assertEquals(whole, head + tail, 1e-4);
  }

  @Test
  void theCandidateChangesTheScoreButNotTheAnswerTokens() {
    AnswerLogProbs a = scorer.logProbs(List.of(REQUESTS.get(0))).get(0);
    AnswerLogProbs b = scorer.logProbs(List.of(REQUESTS.get(1))).get(0);
    assertEquals(a.tokenCount(), b.tokenCount());
    assertNotEquals(a.sum(), b.sum(), 1e-6);
  }

  @Test
  void meanIsSumOverAnswerTokens() {
    try (OnnxCausalLmScorer mean = OnnxCausalLmScorer.builder(dir).reduction(LogProbReduction.MEAN)
        .intraOpThreads(1).build()) {
      assertEquals(LogProbReduction.MEAN, mean.reduction());
      double[] means = mean.score(REQUESTS);
      double[] sums = scorer.score(REQUESTS);
      List<AnswerLogProbs> all = scorer.logProbs(REQUESTS);
      for (int i = 0; i < REQUESTS.size(); i++) {
        assertEquals(sums[i] / all.get(i).tokenCount(), means[i], 1e-9, "request " + i);
        assertEquals(all.get(i).sum(), sums[i], 1e-9);
      }
      // "Jane Austen, in 1813" has several tokens, so the two differ
      assertTrue(all.get(2).tokenCount() > 1);
      assertNotEquals(sums[2], means[2], 1e-3);
    }
  }

  @Test
  void anEmptyAnswerIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ScoreRequest("c", "q", ""));
    assertTrue(e.getMessage().contains("answer is empty"), e.getMessage());
  }

  @Test
  void aPromptWithNoTokensIsRefusedNamingTheRequest() {
    try (OnnxCausalLmScorer bare = OnnxCausalLmScorer.builder(dir).prompt(new RewardPrompt("{candidate}{query}"))
        .intraOpThreads(1).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> bare.score(List.of(new ScoreRequest("a", "b", "c"), new ScoreRequest("", "", "Paris"))));
      assertTrue(e.getMessage().startsWith("requests[1]") && e.getMessage().contains("no tokens"), e.getMessage());
    }
  }

  @Test
  void aRequestOverTheTokenLimitIsRefusedNamingIt() {
    try (OnnxCausalLmScorer shortOne = OnnxCausalLmScorer.builder(dir).maxTokens(12).intraOpThreads(1).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shortOne.score(REQUESTS));
      assertTrue(e.getMessage().startsWith("requests[0] has ") && e.getMessage().contains("at most 12"),
          e.getMessage());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxCausalLmScorer.builder(dir).maxTokens(513).build());
    assertTrue(e.getMessage().contains("at most 512"), e.getMessage());
  }

  @Test
  void missingFilesAreNamed(@TempDir Path tmp) throws IOException {
    Path absent = tmp.resolve("absent");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxCausalLmScorer.builder(absent).build());
    assertTrue(e.getMessage().contains(absent.toString()) && e.getMessage().contains("does not exist"),
        e.getMessage());

    Path noModel = Files.createDirectory(tmp.resolve("no-model"));
    Files.copy(dir.resolve("tokenizer.json"), noModel.resolve("tokenizer.json"));
    e = assertThrows(IllegalArgumentException.class, () -> OnnxCausalLmScorer.builder(noModel).build());
    assertTrue(e.getMessage().contains("model.onnx"), e.getMessage());

    Path noTokenizer = Files.createDirectory(tmp.resolve("no-tokenizer"));
    Files.copy(dir.resolve("model.onnx"), noTokenizer.resolve("model.onnx"));
    e = assertThrows(IllegalArgumentException.class, () -> OnnxCausalLmScorer.builder(noTokenizer).build());
    assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());

    Files.writeString(noTokenizer.resolve("tokenizer.json"), "{\"model\": ");
    e = assertThrows(IllegalArgumentException.class, () -> OnnxCausalLmScorer.builder(noTokenizer).build());
    assertTrue(e.getMessage().contains(noTokenizer.resolve("tokenizer.json").toString()), e.getMessage());

    Files.writeString(noTokenizer.resolve("model.onnx"), "not an onnx graph");
    Files.copy(dir.resolve("tokenizer.json"), noTokenizer.resolve("tokenizer.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    e = assertThrows(IllegalArgumentException.class, () -> OnnxCausalLmScorer.builder(noTokenizer).build());
    assertTrue(e.getMessage().contains(noTokenizer.resolve("model.onnx").toString()), e.getMessage());
  }

  @Test
  void aTokenizerLargerThanTheModelIsRefused(@TempDir Path tmp) throws IOException {
    Files.copy(dir.resolve("model.onnx"), tmp.resolve("model.onnx"));
    String json = Files.readString(dir.resolve("tokenizer.json"));
    // one added token with id 1000, beyond the model's 1,000 logits
    json = json.replaceFirst("\"added_tokens\"\\s*:\\s*\\[\\s*]",
        "\"added_tokens\": [{\"id\": 1000, \"content\": \"<extra>\", \"single_word\": false, \"lstrip\": false,"
            + " \"rstrip\": false, \"normalized\": false, \"special\": true}]");
    assertTrue(json.contains("<extra>"), "the fixture's tokenizer.json has an empty added_tokens list");
    Files.writeString(tmp.resolve("tokenizer.json"), json);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxCausalLmScorer.builder(tmp).build());
    assertTrue(e.getMessage().contains("1001 token ids") && e.getMessage().contains("1000"), e.getMessage());
  }

  @Test
  void concurrentCallersGetTheSameScores() throws Exception {
    double[] expected = scorer.score(REQUESTS);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<double[]>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        futures.add(pool.submit(() -> scorer.score(REQUESTS)));
      }
      for (Future<double[]> f : futures) {
        assertArrayEquals(expected, f.get(), 1e-4);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aClosedScorerRefusesToScore() {
    OnnxCausalLmScorer closed = OnnxCausalLmScorer.builder(dir).intraOpThreads(1).build();
    closed.close();
    closed.close();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> closed.score(REQUESTS.get(0)));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void logSoftmaxIsStableAndNormalised() {
    float[] x = {1000f, 0f, -1000f, 999f};
    double lp0 = OnnxCausalLmScorer.logSoftmax(x, 0);
    double lp3 = OnnxCausalLmScorer.logSoftmax(x, 3);
    assertEquals(-Math.log1p(Math.exp(-1)), lp0, 1e-12);
    assertEquals(-1 - Math.log1p(Math.exp(-1)), lp3, 1e-12);
    float[] y = new float[1000];
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < y.length; i++) {
      y[i] = (float) (random.nextGaussian() * 5);
    }
    double total = 0;
    for (int i = 0; i < y.length; i++) {
      total += Math.exp(OnnxCausalLmScorer.logSoftmax(y, i));
    }
    assertEquals(1.0, total, 1e-9);
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
