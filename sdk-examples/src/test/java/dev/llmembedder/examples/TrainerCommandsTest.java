package dev.llmembedder.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.trainer.train.EpochStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code score} then {@code train} end to end: LLM-Embedder's toy qa rows scored by the real tiny-random-gpt2 graph
 * (RANDOM weights: the teacher is meaningless, so this proves the mechanics only), then a query adapter distilled from
 * those scores with the embedded int8 bge-small-en-v1.5.
 */
class TrainerCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path shared(String relative) {
    Path path = Path.of(System.getProperty("llmembedder.shared.dir", "../../shared")).resolve(relative)
        .toAbsolutePath().normalize();
    assumeTrue(Files.exists(path), "skipped: " + path + " is absent");
    return path;
  }

  private static CommandLine commandLine(Object command) {
    return new CommandLine(command).setCaseInsensitiveEnumValuesAllowed(true);
  }

  /**
   * The toy qa rows with their first {@code negatives} negatives only (101 candidates a row is slow to embed) and no
   * teacher scores.
   */
  private static Path trimmedQaRows(Path dir, int negatives) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(shared("data/llm_embedder_toy/qa.jsonl"))) {
      ObjectNode row = (ObjectNode) JSON.readTree(line);
      ArrayNode neg = JSON.createArrayNode();
      for (int i = 0; i < negatives; i++) {
        neg.add(row.get("neg").get(i));
      }
      row.set("neg", neg);
      row.remove("teacher_scores"); // LLM-Embedder's own, for all 100 negatives: `score` fills new ones
      out.add(JSON.writeValueAsString(row));
    }
    Path file = dir.resolve("qa-rows.jsonl");
    Files.write(file, out);
    return file;
  }

  @Test
  void distillsAnAdapterFromScoresOfTheTinyRandomLlm(@TempDir Path dir) throws IOException {
    Path rows = trimmedQaRows(dir, 7);
    Path scored = dir.resolve("scored.jsonl");
    ScoreCommand score = new ScoreCommand();
    long start = System.nanoTime();
    int rc = commandLine(score).execute("--in", rows.toString(), "--out", scored.toString(), "--llm-dir",
        shared("models/tiny-random-gpt2").toString(), "--sync-every", "3", "--reduction", "mean");
    assertEquals(0, rc);
    assertEquals(8, score.result.scored());
    for (String line : Files.readAllLines(scored)) {
      JsonNode row = JSON.readTree(line);
      assertEquals(8, row.get("teacher_scores").size());
    }
    System.out.printf("score: %.1f s%n", (System.nanoTime() - start) / 1e9);

    Path adapter = dir.resolve("adapter.bin");
    TrainCommand train = new TrainCommand();
    start = System.nanoTime();
    rc = commandLine(train).execute("--data", scored.toString(), "--out", adapter.toString(), "--model",
        "bge-small-en-v1.5-int8", "--loss", "stabilized", "--epochs", "8", "--batch-size", "2", "--validation",
        "0.25", "--patience", "0", "--lr", "1e-3", "--seed", "7");
    assertEquals(0, rc);
    System.out.printf("train: %.1f s%n", (System.nanoTime() - start) / 1e9);
    List<EpochStats> history = train.result.history();
    assertEquals(8, history.size());
    assertTrue(history.get(history.size() - 1).trainLoss() < history.get(0).trainLoss(),
        "training loss decreases: " + history);
    assertFalse(Double.isNaN(train.trainedValidationLoss));
    assertFalse(Files.exists(dir.resolve("adapter.bin.ckpt")), "the finished run's checkpoint is removed");

    QueryAdapter loaded = QueryAdapter.load(adapter);
    // the best epoch's adapter by validation loss; the untrained (identity) one when no epoch beat it
    assertEquals(train.result.bestEpoch() < 0, loaded.isIdentity());
    try (Encoder encoder = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).queryAdapter(adapter)
        .build()) {
      assertEquals(loaded, encoder.queryAdapter().orElseThrow());
    }
  }

  @Test
  void fullModeFineTunesTheEncoderAndWritesAModelDirectoryTheSdkLoads(@TempDir Path dir) throws IOException {
    Path rows = trimmedQaRows(dir, 1);
    Path model = dir.resolve("bge-small-toy");
    TrainCommand train = new TrainCommand();
    long start = System.nanoTime();
    int rc = commandLine(train).execute("--mode", "full", "--data", rows.toString(), "--out", model.toString(),
        "--batch-size", "4", "--negatives", "1", "--validation", "0.25", "--key-max-tokens", "32",
        "--query-max-tokens", "32", "--lr", "1e-5");
    assertEquals(0, rc);
    System.out.printf("train --mode full: %.1f s%n", (System.nanoTime() - start) / 1e9);
    assertFalse(Files.exists(dir.resolve("bge-small-toy.ckpt")), "the finished run's checkpoint is removed");
    assertEquals(1, train.fullResult.history().size());
    assertEquals(2, train.fullResult.steps(), "6 training rows in batches of 4");
    assertTrue(Double.isFinite(train.fullResult.baselineValidationLoss()));
    try (Encoder encoder = Encoder.builder().modelDirectory(model, dev.llmembedder.encoder.ModelFamily.BGE_V15)
        .build()) {
      assertEquals(384, encoder.encodeKeys(List.of("a passage"), dev.llmembedder.encoder.Task.QA)[0].length);
    }
  }

  @Test
  void fullModeRefusesTheQuantisedPreset(@TempDir Path dir) throws IOException {
    Path data = dir.resolve("rows.jsonl");
    Files.writeString(data, "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"task\": \"qa\"}\n");
    StringWriter err = new StringWriter();
    CommandLine cli = Cli.commandLine();
    cli.setErr(new PrintWriter(err, true));
    assertEquals(1, cli.execute("train", "--mode", "full", "--data", data.toString(), "--out",
        dir.resolve("model").toString(), "--negatives", "1", "--model", "bge-small-en-v1.5-int8"));
    assertTrue(err.toString().startsWith("error: ") && err.toString().contains("quantised"), err.toString());
  }

  @Test
  void anExistingCheckpointNeedsResume(@TempDir Path dir) throws IOException {
    Path data = dir.resolve("rows.jsonl");
    Files.writeString(data, "{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"task\": \"qa\"}\n");
    Files.writeString(dir.resolve("adapter.bin.ckpt"), "state");
    Files.writeString(dir.resolve("model.ckpt"), "state");
    for (List<String> out : List.of(List.of("--out", dir.resolve("adapter.bin").toString()),
        List.of("--mode", "full", "--out", dir.resolve("model").toString()))) {
      StringWriter err = new StringWriter();
      CommandLine cli = Cli.commandLine();
      cli.setErr(new PrintWriter(err, true));
      List<String> args = new ArrayList<>(List.of("train", "--data", data.toString()));
      args.addAll(out);
      assertEquals(1, cli.execute(args.toArray(String[]::new)));
      assertTrue(err.toString().startsWith("error: checkpoint ") && err.toString().contains("pass --resume"),
          err.toString());
    }
  }

  @Test
  void scoreRefusesAMissingInput(@TempDir Path dir) {
    StringWriter err = new StringWriter();
    CommandLine cli = Cli.commandLine();
    cli.setErr(new PrintWriter(err, true));
    int rc = cli.execute("score", "--in", dir.resolve("missing.jsonl").toString(), "--out",
        dir.resolve("out.jsonl").toString(), "--llm-dir", dir.toString());
    assertEquals(1, rc);
    assertTrue(err.toString().startsWith("error: file "), err.toString());
  }
}
