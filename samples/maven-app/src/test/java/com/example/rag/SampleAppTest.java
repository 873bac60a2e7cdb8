package com.example.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.context.PromptContext;
import org.junit.jupiter.api.Test;

class SampleAppTest {
  @Test
  void theTidesPassageLeadsTheContextForATidesQuestion() {
    try (LlmEmbedder embedder = LlmEmbedder.builder().build()) {
      PromptContext context = SampleApp.context(embedder, "Why does the sea rise and fall?");

      assertEquals(2, context.knowledge().size(), "knowledge hits");
      assertEquals("tides", context.knowledge().get(0).document().id(), "best passage");
      String rendered = context.render();
      assertTrue(rendered.startsWith("Knowledge:\n[1] Tides are caused mainly by"), rendered);
    }
  }
}
