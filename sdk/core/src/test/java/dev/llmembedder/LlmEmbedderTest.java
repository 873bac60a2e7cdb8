package dev.llmembedder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmembedder.context.PromptContext;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.Demonstration;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The facade on the real embedded model: persistence, reopening, model checks, context building. */
class LlmEmbedderTest {
  private static final Encoder encoder = SharedEncoders.int8();

  private static final List<Document> PASSAGES = List.of(
      new Document("p1", "Photosynthesis", "Plants turn light, water and carbon dioxide into sugar and oxygen.",
          Map.of("source", "biology")),
      new Document("p2", "TCP", "TCP retransmits lost segments and delivers bytes in order.", Map.of()),
      new Document("p3", "", "The Treaty of Westphalia ended the Thirty Years' War in 1648.", Map.of()),
      Document.of("p4", "Espresso is brewed by forcing hot water through finely ground coffee."));


  @Test
  void contextHoldsTheBestPassagesAndRendersThem() {
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).build()) {
      embedder.knowledge().addAll(PASSAGES);
      PromptContext context = embedder.context("How do plants make oxygen?").knowledge(2).build();
      assertEquals("How do plants make oxygen?", context.query());
      assertEquals(2, context.knowledge().size());
      assertEquals("p1", context.knowledge().get(0).document().id());
      assertTrue(context.knowledge().get(0).score() > context.knowledge().get(1).score());
      assertEquals("Knowledge:\n[1] Photosynthesis\nPlants turn light, water and carbon dioxide into sugar and oxygen."
          + "\n\n[2] ", context.render().substring(0, context.render().indexOf("[2] ") + 4));
      // k larger than the collection returns all of it; no retriever asked for gives an empty context
      assertEquals(4, embedder.context("coffee").knowledge(10).build().knowledge().size());
      assertEquals("", embedder.context("coffee").build().render());
    }
  }

  @Test
  void committedPassagesSurviveReopeningWithIdenticalResults(@TempDir Path store) {
    List<DocumentHit> before;
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      embedder.knowledge().addAll(PASSAGES);
      embedder.knowledge().delete("p2");
      before = embedder.knowledge().retrieve("when did the thirty years war end", 3);
    } // close commits
    try (LlmEmbedder reopened = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      assertEquals(3, reopened.knowledge().size());
      assertEquals(before, reopened.knowledge().retrieve("when did the thirty years war end", 3));
      assertEquals(Map.of("source", "biology"), reopened.knowledge().get("p1").metadata());
    }
    assertTrue(Files.exists(store.resolve("embedder.json")));
  }

  @Test
  void aStoreWrittenWithAnotherModelOrInstructionsIsRefused(@TempDir Path store) {
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      embedder.knowledge().add(PASSAGES.get(0));
    }
    try (Encoder other = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8)
        .instructions(InstructionSet.LLM_EMBEDDER).build()) {
      var e = assertThrows(IllegalArgumentException.class,
          () -> LlmEmbedder.builder().encoder(other).storageDirectory(store).build());
      assertTrue(e.getMessage().contains(store.toString()) && e.getMessage().contains("Represent this document"),
          e.getMessage());
    }
  }

  @Test
  void theStoreRecordsTheExportedOutputItPoolsAndRefusesAnother(@TempDir Path store) throws IOException {
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      embedder.knowledge().add(PASSAGES.get(0));
    }
    Path file = store.resolve("embedder.json");
    ObjectMapper json = new ObjectMapper();
    ObjectNode manifest = (ObjectNode) json.readTree(file.toFile());
    // the graph output as exported, not the rewritten graph's pooled output
    assertEquals("last_hidden_state", encoder.outputName());
    assertEquals("last_hidden_state", manifest.path("output").asText(), manifest.toString());
    Files.writeString(file, manifest.put("output", "pooler_output").toString());
    var e = assertThrows(IllegalArgumentException.class,
        () -> LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build());
    assertTrue(e.getMessage().contains("pooler_output"), e.getMessage());
    manifest.remove("output"); // as written before the output was recorded: still opens
    Files.writeString(file, manifest.toString());
    try (LlmEmbedder reopened = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      assertEquals(1, reopened.knowledge().size());
    }
  }

  @Test
  void allFourRetrieversJoinTheContextAndSurviveReopening(@TempDir Path store) {
    String question = "Which drink is made by forcing hot water through coffee?";
    PromptContext before;
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      embedder.knowledge().addAll(PASSAGES);
      embedder.examples().addAll(List.of(
          new Demonstration("d1", "qa", "", "Which drink is brewed from tea leaves?", "Tea"),
          new Demonstration("d2", "math", "", "What is 2 + 2?", "4")));
      MemoryRetriever chat = embedder.memory("chat", MemoryRetriever.Settings.of(Mode.CONVERSATION)
          .withRecentTokens(10)); // only the last turn is recent
      chat.append("Speaker 1: I drink espresso every morning before work.");
      chat.append("Speaker 2: I prefer green tea, it calms me down.");
      chat.append("Speaker 1: My bike broke down on the way to the office.");
      embedder.tools().addAll(List.of(
          Tool.of("order_coffee", "order_coffee", "Order a coffee drink from the nearest cafe",
              "{\"name\": \"order_coffee\", \"parameters\": {\"properties\": {\"drink\": {\"description\":"
                  + " \"espresso, latte, ...\"}}}}"),
          Tool.of("bike_repair", "bike_repair", "Book a bicycle repair appointment", null)));
      before = embedder.context(question).knowledge(1).memory("chat", 1).examples(1).tools(1).build();
      assertEquals("order_coffee", before.tools().get(0).tool().id());
      assertEquals(List.of(new Tool.Parameter("drink", "espresso, latte, ...")),
          before.tools().get(0).tool().parameters());
      assertEquals("p4", before.knowledge().get(0).document().id());
      assertEquals("d1", before.examples().get(0).demonstration().id());
      assertEquals(0, before.memory().get(0).spans().get(0).firstChunk(), before.memory().toString());
      assertTrue(before.render().contains("Memory (chat):\nSpeaker 1: I drink espresso every morning before work.\n"
          + "Speaker 2: I prefer green tea"), "turns of a span are one per line: " + before.render());
      assertTrue(before.render().contains("Examples:\nInput: Which drink is brewed from tea leaves?\nOutput: Tea"),
          before.render());
    }
    try (LlmEmbedder reopened = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      // the memory reopens on first use, in the mode it was saved in
      reopened.memory("chat", MemoryRetriever.Settings.of(Mode.CONVERSATION).withRecentTokens(10));
      PromptContext after = reopened.context(question).knowledge(1).memory("chat", 1).examples(1).tools(1).build();
      assertEquals(before.render(), after.render());
      assertEquals(before.tools(), after.tools());
      assertEquals(2, reopened.tools().size());
      assertEquals(Mode.CONVERSATION, reopened.memory("chat").mode());
      var wrongMode = assertThrows(IllegalArgumentException.class, () -> reopened.memory("chat", Mode.DOCUMENT));
      assertTrue(wrongMode.getMessage().contains("CONVERSATION"), wrongMode.getMessage());
    }
    try (LlmEmbedder reopened = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      // a saved memory opens on first use by name, in its saved mode, with the default 2,048-token recent window
      PromptContext lazily = reopened.context(question).memory("chat", 1).build();
      assertEquals("chat", lazily.memory().get(0).name());
      assertEquals(List.of(), lazily.memory().get(0).spans(), "the whole short chat is within the recent window");
      assertEquals(Mode.CONVERSATION, reopened.memory("chat").mode());
      assertEquals(3, reopened.memory("chat").chunks().size());
    }
  }

  @Test
  void unknownOrUnsafeMemoryNamesAreRejected() {
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).build()) {
      var unknown = assertThrows(IllegalArgumentException.class, () -> embedder.context("q").memory("nope", 1));
      assertTrue(unknown.getMessage().contains("unknown memory 'nope'"), unknown.getMessage());
      for (String bad : List.of("../escape", "a/b", "..", "", " x")) {
        var e = assertThrows(IllegalArgumentException.class, () -> embedder.memory(bad));
        assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
      }
      // an empty memory or example set contributes nothing: not an error
      embedder.memory("empty");
      assertEquals("", embedder.context("q").memory("empty", 2).examples(2).knowledge(1).build().render());
    }
  }

  @Test
  void badQueriesAndKAreRejected() {
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).build()) {
      var blank = assertThrows(IllegalArgumentException.class, () -> embedder.context(" \n"));
      assertTrue(blank.getMessage().contains("whitespace"), blank.getMessage());
      var k = assertThrows(IllegalArgumentException.class, () -> embedder.context("q").knowledge(0));
      assertTrue(k.getMessage().contains("0"), k.getMessage());
      var k2 = assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().retrieve("q", -3));
      assertTrue(k2.getMessage().contains("-3"), k2.getMessage());
    }
  }
}
