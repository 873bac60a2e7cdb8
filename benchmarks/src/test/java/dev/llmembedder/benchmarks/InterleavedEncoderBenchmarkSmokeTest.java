package dev.llmembedder.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One measured round of the interleaved encoder harness on a few queries: proves it still runs, measures nothing. */
class InterleavedEncoderBenchmarkSmokeTest {
  @Test
  void oneRoundOnFourQueries() throws IOException {
    Path shared = Path.of(System.getProperty("llmembedder.shared.dir", "../shared"));
    assumeTrue(Files.isRegularFile(shared.resolve("data/scifact/queries.jsonl")),
        "SciFact is not under " + shared.toAbsolutePath() + "/data/scifact: harness smoke run skipped");
    InterleavedEncoderBenchmark.Options options = InterleavedEncoderBenchmark.Options.parse("--preset", "int8",
        "--texts", "queries", "--count", "4", "--rounds", "1", "--warmup", "0", "--configs", "off/4,on/4");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<InterleavedEncoderBenchmark.Row> rows =
        InterleavedEncoderBenchmark.run(options, new PrintStream(log, true, StandardCharsets.UTF_8));

    assertEquals(List.of("LangChain4j embedAll", "ours, rewrite off, batch 4", "ours, rewrite on, batch 4"),
        rows.stream().map(InterleavedEncoderBenchmark.Row::encoder).toList());
    for (InterleavedEncoderBenchmark.Row r : rows) {
      assertTrue(r.medianTextsPerSecond() > 0 && r.minRatio() <= r.medianRatio() && r.medianRatio() <= r.maxRatio(),
          r.toString());
      assertTrue(r.worstCosine() >= 0.99, r.toString()); // int8 queries in a batch of 4 against LangChain4j's alone
    }
    String table = InterleavedEncoderBenchmark.table(options, rows);
    assertEquals(3, table.lines().filter(l -> l.startsWith("| LangChain4j") || l.startsWith("| ours")).count(), table);
  }
}
