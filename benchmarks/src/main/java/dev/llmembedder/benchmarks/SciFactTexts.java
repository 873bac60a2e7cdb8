package dev.llmembedder.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Real texts for the benchmarks, from {@code ../shared/data/scifact} (override with
 * {@code -Dllmembedder.shared.dir=...}): abstracts ({@code title + " " + text}, in corpus order, natural length
 * mix) or claims (short queries).
 */
final class SciFactTexts {
  private SciFactTexts() {}

  /** The SciFact folder, or an error saying where it was looked for. */
  static Path dir() {
    Path scifact = Path.of(System.getProperty("llmembedder.shared.dir", "../shared"), "data", "scifact");
    if (!Files.isRegularFile(scifact.resolve("corpus.jsonl"))) {
      throw new IllegalStateException("SciFact not found at " + scifact.toAbsolutePath()
          + "; run from the project root beside ../shared, or pass -Dllmembedder.shared.dir=...");
    }
    return scifact;
  }

  /**
   * The first {@code count} passages of at most {@code maxTokens} tokens of {@code counter}'s tokenizer (special
   * tokens included), or the first {@code count} queries.
   */
  static List<String> read(String kind, int count, int maxTokens, Encoder counter) throws IOException {
    boolean passages = switch (kind) {
      case "passages" -> true;
      case "queries" -> false;
      default -> throw new IllegalArgumentException("texts is '" + kind + "'; allowed: passages, queries");
    };
    ObjectMapper json = new ObjectMapper();
    List<String> out = new ArrayList<>(count);
    try (BufferedReader r = Files.newBufferedReader(dir().resolve(passages ? "corpus.jsonl" : "queries.jsonl"))) {
      for (String line; out.size() < count && (line = r.readLine()) != null; ) {
        JsonNode n = json.readTree(line);
        String text = passages ? n.get("title").asText() + " " + n.get("text").asText() : n.get("text").asText();
        if (counter.countTokens(text) <= maxTokens) {
          out.add(text);
        }
      }
    }
    if (out.size() < count) {
      throw new IllegalStateException("SciFact has only " + out.size() + " " + kind + " of at most " + maxTokens
          + " tokens; asked for " + count);
    }
    return out;
  }

  /** Tokens of all {@code texts} (special tokens included, as the model sees them). */
  static long tokens(List<String> texts, Encoder counter) {
    long sum = 0;
    for (String t : texts) {
      sum += counter.countTokens(t);
    }
    return sum;
  }
}
