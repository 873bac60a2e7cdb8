package dev.llmembedder.springai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingOptions;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.embedding.TokenCountBatchingStrategy;

/** The adapter against Spring AI's own classes, over the real embedded int8 model. */
class SpringAiEmbeddingModelTest {
  private static final List<String> TEXTS = List.of(
      "What causes tides?",
      "Tides are caused by the gravitational pull of the Moon and the Sun on the oceans.",
      "Bread rises because yeast ferments sugars and releases carbon dioxide gas.");

  private static Encoder encoder;

  @BeforeAll
  static void load() {
    encoder = Encoder.load(ModelPreset.BGE_SMALL_EN_V15_INT8);
  }

  @AfterAll
  static void close() {
    encoder.close();
  }

  @Test
  void callEqualsTheEncoderForEachRole() {
    EmbeddingModel queries = LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA);
    EmbeddingResponse response = queries.call(new EmbeddingRequest(TEXTS, EmbeddingOptions.builder().build()));

    assertEquals(TEXTS.size(), response.getResults().size());
    float[][] expected = encoder.encodeQueries(TEXTS, Task.QA);
    for (int i = 0; i < TEXTS.size(); i++) {
      assertEquals(i, response.getResults().get(i).getIndex());
      assertArrayEquals(expected[i], response.getResults().get(i).getOutput());
    }
    assertEquals("bge-small-en-v1.5-int8", response.getMetadata().getModel());

    assertArrayEquals(encoder.encodeKeys(TEXTS, Task.QA),
        LlmEmbedderEmbeddingModel.forKeys(encoder, Task.QA).embed(TEXTS).toArray(float[][]::new));
    assertArrayEquals(encoder.encode(TEXTS, "", encoder.maxTokens()),
        LlmEmbedderEmbeddingModel.withInstruction(encoder, "").embed(TEXTS).toArray(float[][]::new));
    // Spring AI's single-text default goes through call(...)
    assertArrayEquals(encoder.encodeQueries(List.of(TEXTS.get(0)), Task.QA)[0], queries.embed(TEXTS.get(0)));
  }

  @Test
  void documentsEmbedTheirTextAloneAlsoThroughSpringsBatchingStrategy() {
    EmbeddingModel keys = LlmEmbedderEmbeddingModel.forKeys(encoder, Task.QA);
    Document tides = new Document(TEXTS.get(1), Map.of("source", "ocean-faq"));
    Document bread = new Document(TEXTS.get(2));

    assertArrayEquals(encoder.encodeKeys(List.of(TEXTS.get(1)), Task.QA)[0], keys.embed(tides));
    List<float[]> batched = keys.embed(List.of(tides, bread), EmbeddingOptions.builder().build(),
        new TokenCountBatchingStrategy());
    assertArrayEquals(encoder.encodeKeys(TEXTS.subList(1, 3), Task.QA), batched.toArray(float[][]::new));

    // the question finds its passage: query and key embeddings live in one space
    float[] q = LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA).embed(TEXTS.get(0));
    assertTrue(dot(q, batched.get(0)) > dot(q, batched.get(1)) + 0.1f);
  }

  @Test
  void dimensionsWithoutAModelRunAndOptionsChecked() {
    EmbeddingModel model = LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA);
    assertEquals(384, model.dimensions());
    assertEquals(1, model.call(new EmbeddingRequest(List.of("x"),
        EmbeddingOptions.builder().dimensions(384).build())).getResults().size());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.call(
        new EmbeddingRequest(List.of("x"), EmbeddingOptions.builder().dimensions(1536).build())));
    assertEquals("dimensions is 1536; allowed: null or 384 (the dimension of bge-small-en-v1.5-int8)", e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> model.call(new EmbeddingRequest(List.of("ok", " "), EmbeddingOptions.builder().build())));
  }

  private static float dot(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
