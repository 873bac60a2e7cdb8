package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15.BgeSmallEnV15EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15q.BgeSmallEnV15QuantizedEmbeddingModel;
import dev.llmembedder.testing.SharedData;
import dev.llmembedder.testing.SharedEncoders;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The encoder on the real embedded bge-small-en-v1.5, checked against LangChain4j's own in-process model. */
class EncoderTest {
  private static final Encoder fp32 = SharedEncoders.fp32();


  static float dot(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  /** SciFact queries and abstracts under LangChain4j's 510-token window (it splits longer texts), plus edge cases. */
  static List<String> oracleTexts() throws IOException {
    List<String> texts = new ArrayList<>(List.of("a", "Hello, world!", "naïve café – ünïcödé ✓ 日本語のテキスト",
        "What is the capital of France?"));
    Path scifact = SharedData.require("data/scifact");
    ObjectMapper json = new ObjectMapper();
    try (BufferedReader r = Files.newBufferedReader(scifact.resolve("queries.jsonl"))) {
      r.lines().limit(30).forEach(l -> texts.add(read(json, l).get("text").asText()));
    }
    try (BufferedReader r = Files.newBufferedReader(scifact.resolve("corpus.jsonl"))) {
      r.lines().limit(60).map(l -> read(json, l))
          .map(n -> n.get("title").asText() + " " + n.get("text").asText())
          .filter(t -> fp32.countTokens(t) <= 510)
          .limit(30)
          .forEach(texts::add);
    }
    return texts;
  }

  private static JsonNode read(ObjectMapper json, String line) {
    try {
      return json.readTree(line);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void assertMatchesOracle(Encoder ours, EmbeddingModel oracle, List<String> texts) {
    float[][] mine = ours.encode(texts, "", ours.maxTokens());
    List<TextSegment> segments = texts.stream().map(TextSegment::from).toList();
    var theirs = oracle.embedAll(segments).content();
    float worst = 1f;
    for (int i = 0; i < texts.size(); i++) {
      float cos = dot(mine[i], theirs.get(i).vector());
      worst = Math.min(worst, cos);
      assertTrue(cos >= 0.999f, "text " + i + " cosine " + cos + " < 0.999: '" + texts.get(i) + "'");
    }
    System.out.printf("oracle %s: %d texts, worst cosine %.6f%n", ours.modelName(), texts.size(), worst);
  }

  @Test
  void fp32MatchesLangChain4j() throws IOException {
    assertMatchesOracle(fp32, new BgeSmallEnV15EmbeddingModel(), oracleTexts());
  }

  /**
   * The int8 graph quantises activations dynamically, with one scale per tensor, so an embedding depends slightly
   * on its batchmates (and their padding); LangChain4j encodes one text at a time, and so does this comparison.
   */
  @Test
  void int8MatchesLangChain4j() throws IOException {
    try (Encoder int8 = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).batchSize(1).build()) {
      assertEquals("bge-small-en-v1.5-int8", int8.modelName());
      assertMatchesOracle(int8, new BgeSmallEnV15QuantizedEmbeddingModel(), oracleTexts());
    }
  }

  @Test
  void embeddingsAreUnitVectorsOfTheModelDimension() {
    float[][] e = fp32.encodeKeys(List.of("", "retrieval augmented generation"), Task.QA);
    for (float[] v : e) {
      assertEquals(384, v.length);
      assertEquals(1f, dot(v, v), 1e-5f);
    }
  }

  @Test
  void batchedEncodingKeepsInputOrderAndEqualsOneByOne() throws IOException {
    List<String> texts = new ArrayList<>(oracleTexts());
    Collections.shuffle(texts, new Random(7));
    float[][] batched = fp32.encode(texts, "", 512);
    for (int i = 0; i < texts.size(); i += 7) {
      float[] single = fp32.encode(List.of(texts.get(i)), "", 512)[0];
      assertTrue(dot(single, batched[i]) > 0.9999f, "text " + i + " differs between batched and single encoding");
    }
  }

  @Test
  void tasksUseTheModelsInstructions() {
    String q = "how do vaccines work";
    String bge = "Represent this sentence for searching relevant passages: ";
    float[] viaTask = fp32.encodeQueries(List.of(q), Task.QA)[0];
    float[] explicit = fp32.encode(List.of(bge + q), "", 512)[0];
    assertArrayEquals(explicit, viaTask, 1e-6f);
    float[] plain = fp32.encode(List.of(q), "", 512)[0];
    assertTrue(dot(plain, viaTask) < 0.999f, "the instruction must change the embedding");
    // BGE has no passage instruction: keys are encoded as they are
    assertArrayEquals(plain, fp32.encodeKeys(List.of(q), Task.QA)[0], 1e-6f);
    // the single-query path is cached and gives the same vector, as a copy the caller may change
    float[] cached = fp32.encodeQuery(q, Task.QA);
    assertArrayEquals(viaTask, cached, 1e-6f);
    cached[0] = 42f;
    assertArrayEquals(viaTask, fp32.encodeQuery(q, Task.QA), 1e-6f);
  }

  @Test
  void llmEmbedderInstructionsAreThePapers() {
    Instruction tool = InstructionSet.LLM_EMBEDDER.forTask(Task.TOOL);
    assertEquals("Transform this user request for fetching helpful tool descriptions: ", tool.query());
    assertEquals("Transform this tool description for retrieval: ", tool.key());
    Instruction qa = InstructionSet.LLM_EMBEDDER.forTask(Task.QA);
    assertEquals("Represent this query for retrieving relevant documents: ", qa.query());
    assertEquals("Represent this document for retrieval: ", qa.key());
    assertEquals(Task.CONVSEARCH, Task.fromId("convsearch"));
    var e = assertThrows(IllegalArgumentException.class, () -> Task.fromId("summarize"));
    assertTrue(e.getMessage().contains("summarize"), e.getMessage());
  }

  @Test
  void longTextsAreTruncatedToTheTokenLimit() {
    String longText = "The quick brown fox jumps over the lazy dog. ".repeat(200); // ~2,000 tokens
    assertTrue(fp32.countTokens(longText) > 1500);
    float[] a = fp32.encode(List.of(longText), "", 512)[0];
    float[] b = fp32.encode(List.of(longText + " A tail beyond the limit changes nothing."), "", 512)[0];
    assertArrayEquals(a, b, 1e-6f);
    float[] shorter = fp32.encode(List.of(longText), "", 16)[0];
    assertTrue(dot(a, shorter) < 0.9999f, "a 16-token limit must give another embedding than 512");
  }

  @Test
  void badInputIsRejectedWithTheOffendingValue() {
    var e1 = assertThrows(IllegalArgumentException.class, () -> fp32.encodeKeys(List.of("ok", "  \t "), Task.QA));
    assertTrue(e1.getMessage().contains("text[1]") && e1.getMessage().contains("whitespace"), e1.getMessage());
    List<String> withNull = new ArrayList<>(List.of("ok"));
    withNull.add(null);
    var e2 = assertThrows(IllegalArgumentException.class, () -> fp32.encodeKeys(withNull, Task.QA));
    assertTrue(e2.getMessage().contains("text[1] is null"), e2.getMessage());
    var e3 = assertThrows(IllegalArgumentException.class, () -> fp32.encode(List.of("x"), "", 513));
    assertTrue(e3.getMessage().contains("513") && e3.getMessage().contains("512"), e3.getMessage());
    var e4 = assertThrows(IllegalArgumentException.class, () -> fp32.encodeQuery(null, Task.QA));
    assertTrue(e4.getMessage().contains("null"), e4.getMessage());
    assertEquals(0, fp32.encodeKeys(List.of(), Task.QA).length);
  }

  @Test
  void concurrentCallersGetTheSameEmbeddingsAsOne() throws Exception {
    List<String> texts = List.of("alpha beta", "gamma delta epsilon", "zeta", "eta theta iota kappa lambda");
    float[][] expected = fp32.encode(texts, "", 512);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<float[][]>> futures = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        futures.add(pool.submit(() -> fp32.encode(texts, "", 512)));
      }
      for (Future<float[][]> f : futures) {
        float[][] got = f.get();
        for (int i = 0; i < texts.size(); i++) {
          assertArrayEquals(expected[i], got[i], 1e-5f);
        }
      }
    } finally {
      pool.shutdown();
    }
  }

  // ------------------------------------------------------------------ model directories (HuggingFace Optimum layout)

  private static void copyResource(String name, Path target) throws IOException {
    try (InputStream in = Encoder.class.getClassLoader().getResourceAsStream(name)) {
      Files.copy(in, target);
    }
  }

  @Test
  void loadsAModelDirectoryWithFamilyAndPooling(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("onnx"));
    copyResource("bge-small-en-v1.5-q.onnx", dir.resolve("onnx/model.onnx"));
    copyResource("bge-small-en-v1.5-q-tokenizer.json", dir.resolve("tokenizer.json"));
    List<String> texts = List.of("Represent this", "mean pooling differs from CLS pooling");
    float[][] preset;
    try (Encoder p = Encoder.load(ModelPreset.BGE_SMALL_EN_V15_INT8)) {
      preset = p.encode(texts, "", 512);
    }
    try (Encoder cls = Encoder.builder().modelDirectory(dir, ModelFamily.BGE_V15).build()) {
      assertEquals(InstructionSet.BGE_V15, cls.instructions());
      float[][] got = cls.encode(texts, "", 512);
      assertArrayEquals(preset[1], got[1], 1e-6f);
    }
    try (Encoder mean = Encoder.builder().modelDirectory(dir, null).pooling(Pooling.MEAN).build()) {
      float[] v = mean.encode(texts, "", 512)[1];
      assertEquals(1f, dot(v, v), 1e-5f);
      assertTrue(dot(v, preset[1]) < 0.99f, "mean pooling must differ from CLS pooling");
    }
    var e = assertThrows(IllegalArgumentException.class, () -> Encoder.builder().modelDirectory(dir, null).build());
    assertTrue(e.getMessage().contains("pooling"), e.getMessage());
  }

  @Test
  void missingOrBrokenModelFilesAreNamed(@TempDir Path dir) throws IOException {
    var missing = assertThrows(IllegalArgumentException.class,
        () -> Encoder.builder().modelDirectory(dir.resolve("nope"), ModelFamily.BGE_V15).build());
    assertTrue(missing.getMessage().contains("nope"), missing.getMessage());
    var noModel = assertThrows(IllegalArgumentException.class,
        () -> Encoder.builder().modelDirectory(dir, ModelFamily.BGE_V15).build());
    assertTrue(noModel.getMessage().contains("model.onnx"), noModel.getMessage());

    copyResource("bge-small-en-v1.5-q-tokenizer.json", dir.resolve("tokenizer.json"));
    byte[] truncated = new byte[4096];
    try (InputStream in = Encoder.class.getClassLoader().getResourceAsStream("bge-small-en-v1.5-q.onnx")) {
      in.readNBytes(truncated, 0, truncated.length);
    }
    Files.write(dir.resolve("model.onnx"), truncated);
    var broken = assertThrows(IllegalArgumentException.class,
        () -> Encoder.builder().modelDirectory(dir, ModelFamily.BGE_V15).build());
    assertTrue(broken.getMessage().contains(dir.resolve("model.onnx").toString()), broken.getMessage());

    Files.writeString(dir.resolve("tokenizer.json"), "{ not json");
    var badTokenizer = assertThrows(IllegalArgumentException.class,
        () -> Encoder.builder().modelDirectory(dir, ModelFamily.BGE_V15).build());
    assertTrue(badTokenizer.getMessage().contains("tokenizer.json"), badTokenizer.getMessage());
  }

  @Test
  void aTokenizerThatDoesNotFitTheModelIsRejected(@TempDir Path dir) throws IOException {
    copyResource("bge-small-en-v1.5-q.onnx", dir.resolve("model.onnx"));
    ObjectMapper json = new ObjectMapper();
    ObjectNode tokenizer;
    try (InputStream in = Encoder.class.getClassLoader().getResourceAsStream("bge-small-en-v1.5-q-tokenizer.json")) {
      tokenizer = (ObjectNode) json.readTree(in);
    }
    // a tokenizer with 50,000 ids, for a model whose embedding table has 30,522 rows
    ObjectNode extra = json.createObjectNode().put("id", 49_999).put("content", "[EXTRA]").put("single_word", false)
        .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
    ((ArrayNode) tokenizer.get("added_tokens")).add(extra);
    json.writeValue(dir.resolve("tokenizer.json").toFile(), tokenizer);
    var e = assertThrows(IllegalArgumentException.class,
        () -> Encoder.builder().modelDirectory(dir, ModelFamily.BGE_V15).build());
    assertTrue(e.getMessage().contains("does not match") && e.getMessage().contains("50000"), e.getMessage());

    // a causal LM is not an encoder: its extra inputs are named
    Path gpt2 = SharedData.require("models/tiny-random-gpt2");
    Path lm = Files.createDirectories(dir.resolve("lm"));
    Files.copy(gpt2.resolve("model.onnx"), lm.resolve("model.onnx"));
    Files.copy(gpt2.resolve("tokenizer.json"), lm.resolve("tokenizer.json"));
    var notEncoder = assertThrows(IllegalArgumentException.class,
        () -> Encoder.builder().modelDirectory(lm, ModelFamily.BGE_V15).build());
    assertTrue(notEncoder.getMessage().contains("position_ids") || notEncoder.getMessage().contains("past"),
        notEncoder.getMessage());
  }

  @Test
  void closingDuringABulkEncodeEndsItWithAnErrorInsteadOfHanging() throws Exception {
    Encoder e = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).batchSize(1).build();
    List<String> texts = java.util.stream.IntStream.range(0, 400)
        .mapToObj(i -> "passage number " + i + " about retrieval augmented generation").toList();
    ExecutorService caller = Executors.newSingleThreadExecutor();
    try {
      Future<float[][]> bulk = caller.submit(() -> e.encode(texts, "", 64));
      Thread.sleep(300);
      e.close();
      var failure = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> bulk.get(60, java.util.concurrent.TimeUnit.SECONDS));
      assertTrue(failure.getCause() instanceof IllegalStateException, failure.getCause().toString());
    } finally {
      caller.shutdownNow();
    }
  }

  @Test
  void closedEncoderRefusesWork() {
    Encoder e = Encoder.load(ModelPreset.BGE_SMALL_EN_V15_INT8);
    e.close();
    e.close(); // idempotent
    var ex = assertThrows(IllegalStateException.class, () -> e.encodeKeys(List.of("x"), Task.QA));
    assertTrue(ex.getMessage().contains("closed"));
    assertNotEquals(Device.AUTO, e.device());
  }
}
