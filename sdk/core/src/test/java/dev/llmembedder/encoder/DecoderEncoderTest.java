package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.index.Document;
import dev.llmembedder.testing.SharedData;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoder-only embedding (ModelFamily.LLARA's mechanics) on the real tiny-random-gpt2 ONNX graph (int32 inputs,
 * {@code position_ids}, {@code past_0..4}), pooling its {@code logits} output as a stand-in for hidden states: random
 * weights, so the vectors mean nothing; what is checked is the template, the pooled positions and the padding. The
 * reference is a plain ONNX Runtime run of one unpadded sequence, built here from the tokenizer directly.
 */
class DecoderEncoderTest {
  private static final List<String> TEXTS = List.of(
      "Tides are caused mainly by the gravitational pull of the Moon.",
      "Rain",
      "The JVM runs Java bytecode and compiles hot methods to machine code, so long-running services get faster"
          + " as they warm up, while short command-line tools pay for the start of the virtual machine.",
      "Why does the sea rise and fall twice a day?",
      "");

  private static Path model;
  private static HuggingFaceTokenizer tokenizer;
  private static OrtEnvironment env;
  private static OrtSession reference;

  @BeforeAll
  static void load() throws IOException, OrtException {
    model = SharedData.require("models/tiny-random-gpt2");
    tokenizer = HuggingFaceTokenizer.newInstance(model.resolve("tokenizer.json"),
        Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "false"));
    env = OrtEnvironment.getEnvironment();
    reference = env.createSession(model.resolve("model.onnx").toString(), new OrtSession.SessionOptions());
  }

  @AfterAll
  static void close() throws OrtException {
    if (reference != null) {
      reference.close();
    }
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  private static Encoder.Builder llara() {
    return Encoder.builder().modelDirectory(model, ModelFamily.LLARA).outputName("logits");
  }

  private static long[] ids(String text) {
    return tokenizer.encode(text, false, false).getIds();
  }

  private static long[] concat(long[]... parts) {
    long[] out = new long[0];
    for (long[] p : parts) {
      int at = out.length;
      out = Arrays.copyOf(out, at + p.length);
      System.arraycopy(p, 0, out, at, p.length);
    }
    return out;
  }

  /** The template's pieces tokenized apart, as LLaRA does: "\"" + text + "\", predict ... <s16>" (GPT-2 adds no BOS). */
  private static long[] templated(String text, boolean query) {
    TextTemplate t = TextTemplate.LLARA;
    return concat(ids(t.prefix(query)), ids(text), ids(t.suffix(query)));
  }

  /** Logits {@code [length][1000]} of one unpadded sequence: a plain run with positions 0..length-1, no past. */
  private static float[][] logits(long[] sequence) throws OrtException {
    int n = sequence.length;
    int[] ints = new int[n];
    int[] positions = new int[n];
    int[] mask = new int[n];
    for (int i = 0; i < n; i++) {
      ints[i] = (int) sequence[i];
      positions[i] = i;
      mask[i] = 1;
    }
    long[] shape = {1, n};
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      inputs.put("input_ids", OnnxTensor.createTensor(env, IntBuffer.wrap(ints), shape));
      inputs.put("position_ids", OnnxTensor.createTensor(env, IntBuffer.wrap(positions), shape));
      inputs.put("attention_mask", OnnxTensor.createTensor(env, IntBuffer.wrap(mask), shape));
      for (int layer = 0; layer < 5; layer++) {
        inputs.put("past_" + layer, OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[] {2, 1, 4, 0, 8}));
      }
      try (OrtSession.Result result = reference.run(inputs, java.util.Set.of("logits"))) {
        float[][][] out = (float[][][]) result.get(0).getValue();
        return out[0];
      }
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  private static float[] normalized(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    float[] out = v.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] /= (float) Math.sqrt(sum);
    }
    return out;
  }

  private static float cosine(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  @Test
  void theTemplateWrapsEachTextAndOnlyTheTextIsCut() {
    try (Encoder e = llara().build()) {
      assertEquals(TextTemplate.LLARA, e.template());
      assertEquals(PaddingSide.LEFT, e.paddingSide());
      assertEquals(Pooling.meanOfLast(8), e.pooling());
      assertEquals(1000, e.dimension(), "logits of a 1,000-token vocabulary");
      String text = TEXTS.get(0);
      long[] query = e.tokenIds(text, true);
      long[] key = e.tokenIds(text, false);
      assertArrayEquals(templated(text, true), query);
      assertArrayEquals(templated(text, false), key);
      int prefix = ids("\"").length;
      int querySuffix = ids(TextTemplate.LLARA.suffix(true)).length;
      int keySuffix = ids(TextTemplate.LLARA.suffix(false)).length;
      assertEquals(prefix + ids(text).length + querySuffix, query.length);
      assertEquals(prefix + ids(text).length + keySuffix, key.length);
      assertTrue(querySuffix >= 8 && keySuffix >= 8, "each suffix ends in 8 marker tokens or more");
      System.out.printf("tiny-random-gpt2 LLaRA template: prefix %d, query suffix %d, key suffix %d tokens%n", prefix,
          querySuffix, keySuffix);

      // a long text is cut, its prefix and suffix kept whole
      String longText = "The quick brown fox jumps over the lazy dog. ".repeat(40);
      long[] full = templated(longText, false);
      assertTrue(full.length > 100);
      float[] cut = e.encode(List.of(longText), "", 100)[0];
      try (Encoder right = llara().paddingSide(PaddingSide.RIGHT).build()) {
        assertTrue(cosine(cut, right.encode(List.of(longText), "", 100)[0]) > 0.9999f);
      }
      long[] kept = concat(ids("\""), Arrays.copyOf(ids(longText), 100 - prefix - querySuffix),
          ids(TextTemplate.LLARA.suffix(true)));
      assertEquals(100, kept.length);
      float[] expected = meanOfLast(kept, 8);
      assertTrue(cosine(expected, cut) > 0.99999f, "cosine " + cosine(expected, cut));

      var tooShort = assertThrows(IllegalArgumentException.class, () -> e.encode(List.of("x"), "", prefix + 3));
      assertTrue(tooShort.getMessage().contains("template") && tooShort.getMessage().contains(
          Integer.toString(prefix + querySuffix)), tooShort.getMessage());
    }
  }

  private static float[] meanOfLast(long[] sequence, int n) {
    float[][] rows = uncheckedLogits(sequence);
    float[] mean = new float[rows[0].length];
    for (int t = rows.length - n; t < rows.length; t++) {
      for (int d = 0; d < mean.length; d++) {
        mean[d] += rows[t][d];
      }
    }
    for (int d = 0; d < mean.length; d++) {
      mean[d] /= n;
    }
    return normalized(mean);
  }

  private static float[][] uncheckedLogits(long[] sequence) {
    try {
      return logits(sequence);
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void meanOfLastNIsTheMeanOfThoseRowsOfAPlainRun() {
    try (Encoder e = llara().build()) {
      float[][] keys = e.encodeKeys(TEXTS, Task.QA); // one left-padded batch of five lengths
      float[][] queries = e.encodeQueries(TEXTS, Task.QA);
      for (int i = 0; i < TEXTS.size(); i++) {
        float[] key = meanOfLast(templated(TEXTS.get(i), false), 8);
        float[] query = meanOfLast(templated(TEXTS.get(i), true), 8);
        assertTrue(cosine(key, keys[i]) > 0.99999f, "key " + i + ": cosine " + cosine(key, keys[i]));
        assertTrue(cosine(query, queries[i]) > 0.99999f, "query " + i + ": cosine " + cosine(query, queries[i]));
        assertArrayEquals(key, keys[i], 1e-5f);
      }
      // the 8 pooled rows are not any single row: the mean is really taken
      float[][] rows = uncheckedLogits(templated(TEXTS.get(0), false));
      assertTrue(cosine(normalized(rows[rows.length - 1]), keys[0]) < 0.999f);
      // queries and keys end in different suffixes, so they differ
      assertTrue(cosine(keys[0], queries[0]) < 0.999f);
    }
  }

  @Test
  void lastTokenPoolingIsTheLogitsRowOfTheLastRealToken() throws OrtException {
    for (PaddingSide side : PaddingSide.values()) {
      try (Encoder e = llara().pooling(Pooling.LAST_TOKEN).paddingSide(side).build()) {
        float[][] batch = e.encodeQueries(TEXTS, Task.QA);
        for (int i = 0; i < TEXTS.size(); i++) {
          float[][] rows = logits(templated(TEXTS.get(i), true));
          float[] expected = normalized(rows[rows.length - 1]);
          assertArrayEquals(expected, batch[i], 1e-5f, side + " padding, text " + i);
        }
      }
    }
    // without a template the last real token is the text's own last token
    try (Encoder e = Encoder.builder().modelDirectory(model, null).pooling(Pooling.LAST_TOKEN).build()) {
      assertEquals(TextTemplate.NONE, e.template());
      float[][] batch = e.encode(TEXTS.subList(0, 4), "", 512);
      for (int i = 0; i < 4; i++) {
        float[][] rows = logits(ids(TEXTS.get(i)));
        assertArrayEquals(normalized(rows[rows.length - 1]), batch[i], 1e-5f, "text " + i);
      }
    }
  }

  @Test
  void anEmbeddingDependsNeitherOnItsBatchmatesNorOnThePaddingSide() {
    try (Encoder left = llara().build(); Encoder right = llara().paddingSide(PaddingSide.RIGHT).build()) {
      float[][] leftKeys = left.encodeKeys(TEXTS, Task.QA); // five lengths in one batch: 1 to about 60 tokens padded
      float[][] rightKeys = right.encodeKeys(TEXTS, Task.QA);
      float[][] leftQueries = left.encodeQueries(TEXTS, Task.CHAT);
      float[][] rightQueries = right.encodeQueries(TEXTS, Task.CHAT);
      float worst = 1f;
      for (int i = 0; i < TEXTS.size(); i++) {
        for (Encoder e : List.of(left, right)) {
          float[] key = e.encodeKeys(List.of(TEXTS.get(i)), Task.QA)[0];
          float[] query = e.encodeQueries(List.of(TEXTS.get(i)), Task.CHAT)[0];
          float[][] keys = e == left ? leftKeys : rightKeys;
          float[][] queries = e == left ? leftQueries : rightQueries;
          worst = Math.min(worst, Math.min(cosine(key, keys[i]), cosine(query, queries[i])));
          assertTrue(cosine(key, keys[i]) > 0.9999f, e.paddingSide() + ": key " + i + " batched vs alone");
          assertTrue(cosine(query, queries[i]) > 0.9999f, e.paddingSide() + ": query " + i + " batched vs alone");
        }
        worst = Math.min(worst, Math.min(cosine(leftKeys[i], rightKeys[i]), cosine(leftQueries[i], rightQueries[i])));
        assertTrue(cosine(leftKeys[i], rightKeys[i]) > 0.9999f, "key " + i + ": left vs right padding");
        assertTrue(cosine(leftQueries[i], rightQueries[i]) > 0.9999f, "query " + i + ": left vs right padding");
      }
      System.out.printf("tiny-random-gpt2: worst cosine batched/alone/left/right %.7f%n", worst);
      // the texts themselves give different embeddings, so the equalities above are not trivial
      assertTrue(cosine(leftKeys[0], leftKeys[3]) < 0.999f);
    }
  }

  @Test
  void badOutputsAndPoolingsAreClearErrors() {
    var missing = assertThrows(IllegalArgumentException.class, () -> llara().outputName("hidden_states").build());
    assertTrue(missing.getMessage().contains("'hidden_states'") && missing.getMessage().contains("logits"),
        missing.getMessage());
    var wrongShape = assertThrows(IllegalArgumentException.class, () -> llara().outputName("present_0").build());
    assertTrue(wrongShape.getMessage().contains("present_0") && wrongShape.getMessage().contains("[batch, seq, dim]"),
        wrongShape.getMessage());

    int keySuffix = ids(TextTemplate.LLARA.suffix(false)).length;
    int querySuffix = ids(TextTemplate.LLARA.suffix(true)).length;
    int shortest = Math.min(keySuffix, querySuffix);
    var tooMany = assertThrows(IllegalArgumentException.class,
        () -> llara().pooling(Pooling.meanOfLast(shortest + 1)).build());
    assertTrue(tooMany.getMessage().contains("last " + (shortest + 1)) && tooMany.getMessage().contains(
        "only " + shortest + " tokens"), tooMany.getMessage());
    try (Encoder most = llara().pooling(Pooling.meanOfLast(shortest)).build()) {
      assertEquals(shortest, most.pooling().positions());
    }
    // no template: GPT-2 closes a sequence with no special token, so there is nothing fixed to average
    var noSuffix = assertThrows(IllegalArgumentException.class,
        () -> llara().template(TextTemplate.NONE).build());
    assertTrue(noSuffix.getMessage().contains("only 0 tokens"), noSuffix.getMessage());
    // CLS pooling of a causal model is refused, naming its decoder inputs
    var cls = assertThrows(IllegalArgumentException.class, () -> llara().pooling(Pooling.CLS).build());
    assertTrue(cls.getMessage().contains("position_ids") && cls.getMessage().contains("LAST_TOKEN"),
        cls.getMessage());

    var badPattern = assertThrows(IllegalArgumentException.class, () -> new TextTemplate("{text} {text}", "{text}"));
    assertTrue(badPattern.getMessage().contains("exactly once"), badPattern.getMessage());
    var badPositions = assertThrows(IllegalArgumentException.class, () -> Pooling.meanOfLast(0));
    assertTrue(badPositions.getMessage().contains("0"), badPositions.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Pooling(Pooling.Mode.CLS, 3));
  }

  @Test
  void theLlmEmbedderBuilderLoadsTheFamilyAndItsStoreRecordsTheKeyPattern(@TempDir Path store) throws IOException {
    // tiny-random-gpt2 has logits and present_* outputs: the only [batch, seq, dim] one, logits, is chosen
    try (LlmEmbedder embedder = LlmEmbedder.builder().modelDirectory(model, ModelFamily.LLARA)
        .storageDirectory(store).build()) {
      assertEquals(TextTemplate.LLARA, embedder.encoder().template());
      embedder.knowledge().addAll(List.of(Document.of("a", TEXTS.get(0)), Document.of("b", TEXTS.get(2))));
      var hits = embedder.knowledge().retrieve("the Moon", 2);
      assertEquals(2, hits.size());
      assertFalse(hits.get(0).document().id().isEmpty());
    }
    String manifest = Files.readString(store.resolve("embedder.json"));
    assertTrue(manifest.contains("summarize the above passage"), manifest);
    // keys embedded under another key pattern are not comparable: the store refuses the other encoder
    TextTemplate british = new TextTemplate(TextTemplate.LLARA.query(),
        TextTemplate.LLARA.key().replace("summarize", "summarise"));
    try (Encoder other = llara().template(british).build()) {
      var refused = assertThrows(IllegalArgumentException.class,
          () -> LlmEmbedder.builder().encoder(other).storageDirectory(store).build());
      assertTrue(refused.getMessage().contains(store.toString()), refused.getMessage());
    }
  }
}
