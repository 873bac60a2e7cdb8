package dev.llmembedder.benchmarks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One smoke iteration of the search harness at a tiny size: proves it still runs, measures nothing. */
class SearchBenchmarkSmokeTest {
  @TempDir
  Path work;

  @Test
  void harnessRunsBothIndexesAtSmokeSize() throws IOException, InterruptedException {
    SearchBenchmark.Options options = SearchBenchmark.Options.parse("--size", "2000", "--queries", "20",
        "--dimension", "64", "--seconds", "0.05", "--threads", "2", "--search-beams", "20,60",
        "--work", work.toString());
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<SearchBenchmark.Row> rows = SearchBenchmark.run(options, new PrintStream(log, true, StandardCharsets.UTF_8));

    assertEquals(List.of("VectorIndex (graph, on-heap)", "DiskVectorIndex (PQ + mmap)", "DiskVectorIndex (PQ + mmap)"),
        rows.stream().map(SearchBenchmark.Row::index).toList());
    for (SearchBenchmark.Row row : rows) {
      assertTrue(row.recall() > 0.5 && row.recall() <= 1, row.toString());
      assertTrue(row.qpsSingle() > 0 && row.qpsAll() > 0 && row.p50Millis() <= row.p99Millis(), row.toString());
      assertTrue(row.diskBytes() > 0, row.toString());
    }
    String table = SearchBenchmark.table(options, rows);
    assertEquals(3, table.lines().filter(l -> l.startsWith("| ") && l.contains("PQ") || l.startsWith("| VectorIndex"))
        .count(), table);
  }
}
