package dev.llmembedder.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * CI smoke run of each benchmark: one short iteration, no warm-up, in this JVM, one parameter combination, a few
 * texts. Proves the benchmarks still run (and that LangChain4j still agrees with us); the figures mean nothing.
 */
class BenchmarkSmokeTest {
  private static ChainedOptionsBuilder smoke(String benchmark) {
    Path shared = Path.of(System.getProperty("llmembedder.shared.dir", "../shared"));
    assumeTrue(Files.isRegularFile(shared.resolve("data/scifact/corpus.jsonl")),
        "SciFact is not under " + shared.toAbsolutePath() + "/data/scifact: benchmark smoke runs skipped");
    return new OptionsBuilder()
        .include(benchmark)
        .forks(0)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(200))
        .shouldFailOnError(true);
  }

  private static void assertRan(Collection<RunResult> results, int expected) {
    assertEquals(expected, results.size());
    for (RunResult r : results) {
      assertTrue(r.getPrimaryResult().getScore() > 0, r.getParams().getBenchmark() + " scored 0");
    }
  }

  @Test
  void encoderBenchmarkRuns() throws RunnerException {
    assertRan(new Runner(smoke(EncoderBenchmark.class.getName()).param("preset", "BGE_SMALL_EN_V15_INT8")
        .param("texts", "queries").param("count", "8").param("batchSize", "8").build()).run(), 2);
  }

  @Test
  void contextLatencyBenchmarkRuns() throws RunnerException {
    assertRan(new Runner(smoke(ContextLatencyBenchmark.class.getName()).param("passages", "16")
        .param("cache", "cold").build()).run(), 1);
  }
}
