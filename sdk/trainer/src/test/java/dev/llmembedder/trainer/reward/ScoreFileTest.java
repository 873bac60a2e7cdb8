package dev.llmembedder.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.trainer.data.TrainingData;
import dev.llmembedder.trainer.testing.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resumable scoring of LLM-Embedder's toy qa rows (8 rows, 101 candidates each) with the real tiny-random-gpt2 graph
 * (random weights: the scores are meaningless, the mechanics are what is checked).
 */
class ScoreFileTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SETTINGS = "tiny-random-gpt2, SUM, FIRST";

  private static Path qa;
  private static OnnxCausalLmScorer scorer;
  /** The uninterrupted run's output bytes, made once. */
  private static byte[] uninterrupted;

  @TempDir static Path shared;

  @BeforeAll
  static void scoreOnce() throws IOException {
    qa = SharedData.require("data/llm_embedder_toy/qa.jsonl");
    scorer = OnnxCausalLmScorer.builder(SharedData.require("models/tiny-random-gpt2")).build();
    Path out = shared.resolve("full.jsonl");
    ScoreFile.Result result = scoreFile(3).build().run(qa, out);
    assertEquals(new ScoreFile.Result(8, 0, 8, 0, 0, 0, 0), result);
    uninterrupted = Files.readAllBytes(out);
  }

  @AfterAll
  static void close() {
    if (scorer != null) {
      scorer.close();
    }
  }

  private static ScoreFile.Builder scoreFile(int syncEvery) {
    // the toy rows carry LLM-Embedder's own teacher scores: replace them
    return ScoreFile.builder(new TeacherScoring(scorer)).rescore(true).syncEvery(syncEvery).settings(SETTINGS);
  }

  @Test
  void everyRowGetsOneScorePerCandidateAndKeepsItsFields() throws IOException {
    List<String> in = Files.readAllLines(qa);
    List<String> out = new String(uninterrupted, StandardCharsets.UTF_8).lines().toList();
    assertEquals(8, out.size());
    for (int i = 0; i < out.size(); i++) {
      JsonNode before = JSON.readTree(in.get(i));
      JsonNode after = JSON.readTree(out.get(i));
      JsonNode scores = after.get("teacher_scores");
      assertEquals(before.get("pos").size() + before.get("neg").size(), scores.size(), "row " + i);
      scores.forEach(s -> assertTrue(s.isNumber() && Double.isFinite(s.asDouble()) && s.asDouble() < 0, "" + s));
      assertNotEquals(before.get("teacher_scores"), scores, "the random model's scores replace the toy row's");
      ((com.fasterxml.jackson.databind.node.ObjectNode) after).remove("teacher_scores");
      ((com.fasterxml.jackson.databind.node.ObjectNode) before).remove("teacher_scores");
      assertEquals(before, after, "row " + i + " keeps every other field (query_id included)");
      assertEquals(List.copyOf(fieldNames(before)), List.copyOf(fieldNames(after)), "in their order");
    }
    TrainingData.Read read = TrainingData.reader().requireTeacherScores(true)
        .build().read(shared.resolve("full.jsonl"));
    assertEquals(8, read.examples().size());
  }

  private static List<String> fieldNames(JsonNode row) {
    List<String> names = new java.util.ArrayList<>();
    row.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void anInterruptedRunResumesToTheSameFile(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("scored.jsonl");
    Path partial = ScoreFile.partialFile(out);
    RuntimeException stop = new RuntimeException("interrupted");
    RuntimeException thrown = assertThrows(RuntimeException.class, () -> scoreFile(3).listener((done, total) -> {
      if (done >= 3) {
        throw stop;
      }
    }).build().run(qa, out));
    assertEquals(stop, thrown);
    assertFalse(Files.exists(out), "no output before the run ends");
    assertEquals(3, Files.readAllLines(partial).size());

    // a crash in the middle of the next write: half a line at the end
    String next = new String(uninterrupted, StandardCharsets.UTF_8).lines().skip(3).findFirst().orElseThrow();
    byte[] half = next.substring(0, next.length() / 2).getBytes(StandardCharsets.UTF_8);
    Files.write(partial, half, StandardOpenOption.APPEND);

    int[] firstProgress = {-1};
    ScoreFile.Result resumed = scoreFile(3).listener((done, total) -> {
      if (firstProgress[0] < 0) {
        firstProgress[0] = done;
      }
    }).build().run(qa, out);
    assertEquals(new ScoreFile.Result(8, 3, 5, 0, 0, 0, half.length), resumed);
    assertEquals(3, firstProgress[0], "the progress starts at the resumed rows");
    assertArrayEquals(uninterrupted, Files.readAllBytes(out), "the same bytes as an uninterrupted run");
    assertFalse(Files.exists(partial));
    assertFalse(Files.exists(ScoreFile.settingsFile(out)));
  }

  @Test
  void aFinishedPartialFileIsOnlyRenamed(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("scored.jsonl");
    Files.write(ScoreFile.partialFile(out), uninterrupted);
    Files.writeString(ScoreFile.settingsFile(out), SETTINGS);
    ScoreFile.Result result = scoreFile(3).build().run(qa, out);
    assertEquals(new ScoreFile.Result(8, 8, 0, 0, 0, 0, 0), result);
    assertArrayEquals(uninterrupted, Files.readAllBytes(out));
  }

  @Test
  void refusesThePartialFileOfAnotherRun(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("scored.jsonl");
    Path partial = ScoreFile.partialFile(out);
    Files.write(partial, uninterrupted);
    Files.writeString(ScoreFile.settingsFile(out), "another model");
    IOException e = assertThrows(IOException.class, () -> scoreFile(3).build().run(qa, out));
    assertTrue(e.getMessage().contains("other settings {another model}"), e.getMessage());

    // same settings, other rows
    Files.writeString(ScoreFile.settingsFile(out), SETTINGS);
    Path other = dir.resolve("other.jsonl");
    Files.writeString(other, "{\"query\": \"something else\", \"pos\": [\"p\"], \"answers\": [\"a\"]}\n");
    e = assertThrows(IOException.class, () -> scoreFile(3).build().run(other, out));
    assertTrue(e.getMessage().contains("belongs to another input"), e.getMessage());
    assertArrayEquals(uninterrupted, Files.readAllBytes(partial), "the partial file is left alone");
  }

  @Test
  void keepsExistingScoresUnlessRescoring(@TempDir Path dir) throws IOException {
    Path in = dir.resolve("in.jsonl");
    Files.writeString(in, String.join("\n",
        "{\"query\": \"q1\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"teacher_scores\": [0.5, 0.25],"
            + " \"answers\": [\"a\"], \"task\": \"qa\"}",
        "",
        "{\"query\": \"q2\", \"pos\": [\"p\"], \"task\": \"qa\"}",
        "{\"query\": \"q3\", \"history\": [\"h1\", \"h2\"], \"answers\": [\"a b\"], \"task\": \"chat\"}",
        ""));
    Path out = dir.resolve("out.jsonl");
    assertEquals(new ScoreFile.Result(3, 0, 1, 1, 1, 0, 0), scoreFile(2).rescore(false).build().run(in, out));
    List<String> lines = Files.readAllLines(out);
    assertEquals(3, lines.size());
    assertEquals("[0.5,0.25]", JSON.readTree(lines.get(0)).get("teacher_scores").toString());
    assertFalse(JSON.readTree(lines.get(1)).has("teacher_scores"), "no answer: copied unscored");
    assertEquals(2, JSON.readTree(lines.get(2)).get("teacher_scores").size(), "history rows: one per candidate");

    assertEquals(new ScoreFile.Result(3, 0, 2, 0, 1, 0, 0), scoreFile(2).build().run(in, out));
    assertEquals(2, JSON.readTree(Files.readAllLines(out).get(0)).get("teacher_scores").size());
    assertTrue(JSON.readTree(Files.readAllLines(out).get(0)).get("teacher_scores").get(0).asDouble() < 0);
  }
}
