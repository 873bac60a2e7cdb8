package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.ToolEvaluation;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link QueryAdapter}: the map, its file, and the encoder and facade applying it to queries only. */
class QueryAdapterTest {
  private static final Encoder plain = SharedEncoders.int8();
  private static final List<String> QUERIES = List.of("How do plants make oxygen?", "What ended the Thirty Years' War?",
      "espresso brewing pressure");
  private static final List<String> KEYS = List.of("Plants turn light, water and carbon dioxide into sugar.",
      "The Treaty of Westphalia ended the Thirty Years' War in 1648.");

  /** A small int8 encoder for tests that build their own (one model run at a time: the machine is shared). */
  private static Encoder.Builder int8() {
    return Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).parallelRuns(1);
  }

  /** A random, well-conditioned map: identity plus noise of the given scale. */
  private static QueryAdapter perturbed(String model, int d, double scale, long seed, boolean bias) {
    Random random = new Random(seed);
    float[][] w = new float[d][d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        w[i][j] = (i == j ? 1f : 0f) + (float) (scale * random.nextGaussian());
      }
    }
    float[] b = null;
    if (bias) {
      b = new float[d];
      for (int i = 0; i < d; i++) {
        b[i] = (float) (scale * random.nextGaussian());
      }
    }
    return QueryAdapter.of(model, w, b);
  }

  @Test
  void appliesWqPlusBAndNormalises() {
    // W = [[2, 0], [1, 1]], b = [0, 1], q = [0.6, 0.8]: W q + b = [1.2, 0.6 + 0.8 + 1] = [1.2, 2.4];
    // its norm is sqrt(1.44 + 5.76) = sqrt(7.2) = 2.683282, so q' = [0.4472136, 0.8944272] (= [1, 2] / sqrt 5)
    QueryAdapter a = QueryAdapter.of("m", new float[][] {{2, 0}, {1, 1}}, new float[] {0, 1});
    float[] q = {0.6f, 0.8f};
    assertArrayEquals(new float[] {0.4472136f, 0.8944272f}, a.apply(q), 1e-6f);
    assertArrayEquals(new float[] {0.6f, 0.8f}, q, "the input is not modified");
    // without the bias: W q = [1.2, 1.4], norm sqrt(1.44 + 1.96) = 1.8439089
    QueryAdapter noBias = QueryAdapter.of("m", new float[][] {{2, 0}, {1, 1}}, null);
    assertArrayEquals(new float[] {0.6507914f, 0.7592566f}, noBias.apply(q), 1e-6f);
    // a map that sends q to zero gives zero, as the encoder normalises a zero vector
    QueryAdapter zero = QueryAdapter.of("m", new float[][] {{0, 0}, {0, 0}}, null);
    assertArrayEquals(new float[] {0f, 0f}, zero.apply(q));
  }

  @Test
  void identityIsIdentity() {
    QueryAdapter id = QueryAdapter.identity("m", 3, true);
    assertTrue(id.isIdentity());
    assertTrue(id.hasBias());
    float[] q = {0.48f, 0.6f, 0.64f};
    assertArrayEquals(q, id.apply(q), 1e-7f);
    assertFalse(perturbed("m", 3, 0.1, 1, false).isIdentity());
    assertArrayEquals(new float[3], QueryAdapter.identity("m", 3, false).bias(), "no bias reads as zeros");
  }

  @Test
  void badArgumentsAreNamed() {
    assertEquals("weights[1] has length 1; expected a square matrix, float[2][2]", assertThrows(
        IllegalArgumentException.class, () -> QueryAdapter.of("m", new float[][] {{1, 0}, {1}}, null)).getMessage());
    assertEquals("bias has length 3; expected 2 (the weights' dimension)", assertThrows(IllegalArgumentException.class,
        () -> QueryAdapter.of("m", new float[][] {{1, 0}, {0, 1}}, new float[3])).getMessage());
    assertEquals("weights[1][0] is NaN; values must be finite", assertThrows(IllegalArgumentException.class,
        () -> QueryAdapter.of("m", new float[][] {{1, 0}, {Float.NaN, 1}}, null)).getMessage());
    assertEquals("model name is blank; give the encoder's modelName()", assertThrows(IllegalArgumentException.class,
        () -> QueryAdapter.identity(" ", 2, false)).getMessage());
    assertEquals("dimension is 0; allowed: 1 to 16384", assertThrows(IllegalArgumentException.class,
        () -> QueryAdapter.identity("m", 0, false)).getMessage());
    assertEquals("query embedding has dimension 3; this adapter (for m) takes 2", assertThrows(
        IllegalArgumentException.class, () -> QueryAdapter.identity("m", 2, false).apply(new float[3])).getMessage());
  }

  @Test
  void fileRoundTripKeepsEverything(@TempDir Path dir) throws IOException {
    for (boolean bias : new boolean[] {true, false}) {
      QueryAdapter a = perturbed("bge-small-en-v1.5-int8 ✓", 7, 0.2, 3, bias);
      Path file = dir.resolve("sub/adapter-" + bias + ".bin");
      a.save(file);
      QueryAdapter back = QueryAdapter.load(file);
      assertEquals(a, back);
      assertEquals("bge-small-en-v1.5-int8 ✓", back.modelName());
      assertEquals(7, back.dimension());
      assertEquals(bias, back.hasBias());
      assertArrayEquals(a.weights(), back.weights());
      assertArrayEquals(a.bias(), back.bias());
      // 8 magic + 4 version + 4 dim + 1 flags + 2 + 26 name bytes + 49 * 4 weights (+ 7 * 4 bias) + 4 CRC
      assertEquals(8 + 4 + 4 + 1 + 2 + 26 + 49 * 4 + (bias ? 28 : 0) + 4, Files.size(file));
    }
    // saving over an existing file replaces it and leaves no temporary file behind
    Path file = dir.resolve("sub/adapter-true.bin");
    QueryAdapter other = QueryAdapter.identity("m", 2, false);
    other.save(file);
    assertEquals(other, QueryAdapter.load(file));
    try (var files = Files.list(dir.resolve("sub"))) {
      assertEquals(List.of("adapter-false.bin", "adapter-true.bin"),
          files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void corruptedFilesAreRejectedNamingTheFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("adapter.bin");
    perturbed("m", 4, 0.1, 5, true).save(file);
    byte[] good = Files.readAllBytes(file);

    byte[] flipped = good.clone();
    flipped[40] ^= 0x10; // inside the weights
    Files.write(file, flipped);
    String message = assertThrows(IllegalArgumentException.class, () -> QueryAdapter.load(file)).getMessage();
    assertTrue(message.startsWith("query adapter file " + file + " fails its checksum"), message);

    Files.write(file, java.util.Arrays.copyOf(good, good.length - 9));
    message = assertThrows(IllegalArgumentException.class, () -> QueryAdapter.load(file)).getMessage();
    assertTrue(message.startsWith("query adapter file " + file + " "), message);

    Files.writeString(file, "{\"not\": \"an adapter\"}");
    assertEquals("query adapter file " + file + " does not start with \"LLMEQADP\": not a query adapter file",
        assertThrows(IllegalArgumentException.class, () -> QueryAdapter.load(file)).getMessage());

    Path missing = dir.resolve("missing.bin");
    assertEquals("query adapter file " + missing + " does not exist",
        assertThrows(IllegalArgumentException.class, () -> QueryAdapter.load(missing)).getMessage());
  }

  @Test
  void anotherFormatVersionIsRejected(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("adapter.bin");
    QueryAdapter.identity("m", 2, false).save(file);
    byte[] bytes = Files.readAllBytes(file);
    bytes[11] = 2; // version 2, big-endian int at offset 8
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    java.nio.ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
    Files.write(file, bytes);
    assertEquals("query adapter file " + file + " has format version 2; this SDK reads version 1",
        assertThrows(IllegalArgumentException.class, () -> QueryAdapter.load(file)).getMessage());
  }

  @Test
  void identityAdapterLeavesQueriesUnchanged() {
    try (Encoder adapted = int8().queryAdapter(QueryAdapter.identity(plain.modelName(), plain.dimension(), true))
        .build()) {
      float[][] expected = plain.encodeQueries(QUERIES, Task.QA);
      float[][] actual = adapted.encodeQueries(QUERIES, Task.QA);
      for (int i = 0; i < QUERIES.size(); i++) {
        assertArrayEquals(expected[i], actual[i], 1e-6f, "re-normalising a unit vector in double changes ulps only");
        // int8 embeddings depend on the batch (see ModelPreset): compare one-query calls with one-query calls
        assertArrayEquals(plain.encodeQuery(QUERIES.get(i), Task.QA), adapted.encodeQuery(QUERIES.get(i), Task.QA),
            1e-6f);
      }
      assertTrue(adapted.queryAdapter().orElseThrow().isIdentity());
      assertTrue(plain.queryAdapter().isEmpty());
    }
  }

  @Test
  void anAdapterChangesQueriesButNotKeys(@TempDir Path dir) throws IOException {
    QueryAdapter adapter = perturbed(plain.modelName(), plain.dimension(), 0.05, 7, true);
    Path file = dir.resolve("adapter.bin");
    adapter.save(file);
    try (Encoder adapted = int8().queryAdapter(file).build()) {
      assertEquals(adapter, adapted.queryAdapter().orElseThrow());
      float[][] raw = plain.encodeQueries(QUERIES, Task.QA);
      float[][] queries = adapted.encodeQueries(QUERIES, Task.QA);
      for (int i = 0; i < QUERIES.size(); i++) {
        assertArrayEquals(adapter.apply(raw[i]), queries[i], 1e-6f);
        assertTrue(EncoderTest.dot(raw[i], queries[i]) < 0.999f, "the adapter moved query " + i);
        // the cached path adapts too, and a second (cached) call gives the same; int8 embeddings depend on the
        // batch (see ModelPreset), so one-query calls are compared with one-query calls
        float[] single = adapter.apply(plain.encodeQuery(QUERIES.get(i), Task.QA));
        assertArrayEquals(single, adapted.encodeQuery(QUERIES.get(i), Task.QA), 1e-6f);
        assertArrayEquals(single, adapted.encodeQuery(QUERIES.get(i), Task.QA), 1e-6f);
      }
      float[][] keys = adapted.encodeKeys(KEYS, Task.QA);
      float[][] plainKeys = plain.encodeKeys(KEYS, Task.QA);
      for (int i = 0; i < KEYS.size(); i++) {
        assertArrayEquals(plainKeys[i], keys[i], "keys are never adapted");
      }
      // encode() is the model's own embedding, without the adapter
      String instruction = adapted.instructions().forTask(Task.QA).query();
      assertArrayEquals(raw[0], adapted.encode(QUERIES, instruction, adapted.maxTokens())[0]);
      // evaluation measures what retrieval does: adapted queries
      Map<String, String> texts = new LinkedHashMap<>();
      Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
      for (int i = 0; i < QUERIES.size(); i++) {
        texts.put("q" + i, QUERIES.get(i));
        qrels.put("q" + i, Map.of("d0", 1));
      }
      try (DocumentIndex index = DocumentIndex.create(adapted.dimension())) {
        float[][] evaluated = ToolEvaluation.encodeQueries(new ToolRetriever(adapted, index),
            new BeirDataset("t", Map.of(), texts, qrels, "test"), instruction);
        for (int i = 0; i < QUERIES.size(); i++) {
          assertArrayEquals(queries[i], evaluated[i], 1e-6f, "evaluation adapts query " + i);
        }
      }
    }
  }

  @Test
  void anAdapterForAnotherModelOrDimensionIsRefused(@TempDir Path dir) throws IOException {
    Path other = dir.resolve("other-model.bin");
    QueryAdapter.identity("bge-small-en-v1.5", 384, false).save(other);
    String message = assertThrows(IllegalArgumentException.class, () -> int8().queryAdapter(other).build())
        .getMessage();
    assertEquals("query adapter " + other + " was trained for model 'bge-small-en-v1.5' (dimension 384), but this"
        + " encoder is 'bge-small-en-v1.5-int8' (dimension 384); train an adapter for this model or drop"
        + " queryAdapter(...)", message);

    Path small = dir.resolve("small.bin");
    QueryAdapter.identity("bge-small-en-v1.5-int8", 8, false).save(small);
    message = assertThrows(IllegalArgumentException.class, () -> int8().queryAdapter(small).build()).getMessage();
    assertTrue(message.contains(small + " was trained for model 'bge-small-en-v1.5-int8' (dimension 8)"), message);

    Path broken = dir.resolve("broken.bin");
    Files.writeString(broken, "nope");
    message = assertThrows(IllegalArgumentException.class, () -> int8().queryAdapter(broken).build()).getMessage();
    assertTrue(message.startsWith("query adapter file " + broken), message);
  }

  @Test
  void theFacadeAppliesTheAdapterToRetrieval(@TempDir Path dir) throws IOException {
    List<Document> passages = List.of(Document.of("p1", KEYS.get(0)), Document.of("p2", KEYS.get(1)));
    // a strong random map: the retriever's scores must be those of the adapted query against the plain keys
    QueryAdapter adapter = perturbed(plain.modelName(), plain.dimension(), 0.2, 11, false);
    Path file = dir.resolve("adapter.bin");
    adapter.save(file);
    try (LlmEmbedder embedder = LlmEmbedder.builder().model(ModelPreset.BGE_SMALL_EN_V15_INT8).queryAdapter(file)
        .build()) {
      embedder.knowledge().addAll(passages);
      float[] q = adapter.apply(plain.encodeQuery(QUERIES.get(0), Task.QA));
      float[][] k = plain.encodeKeys(KEYS, Task.QA);
      List<DocumentHit> hits = embedder.knowledge().retrieve(QUERIES.get(0), 2);
      for (DocumentHit hit : hits) {
        int i = hit.document().id().equals("p1") ? 0 : 1;
        assertEquals(EncoderTest.dot(q, k[i]), hit.score(), 1e-5, "the score is the adapted query's");
      }
      assertNotEquals(EncoderTest.dot(plain.encodeQuery(QUERIES.get(0), Task.QA), k[0]), hits.stream()
          .filter(h -> h.document().id().equals("p1")).findFirst().orElseThrow().score(), 1e-3);
    }
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> LlmEmbedder.builder().encoder(plain).queryAdapter(file).build());
    assertTrue(e.getMessage().startsWith("queryAdapter(...) configures the encoder this builder makes"),
        e.getMessage());
  }
}
