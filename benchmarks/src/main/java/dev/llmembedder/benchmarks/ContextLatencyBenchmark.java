package dev.llmembedder.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.context.PromptContext;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.index.Document;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * End-to-end latency of {@code embedder.context(q).knowledge(3).build()} (query encoding, knowledge search, context
 * assembly), one caller at a time, over a knowledge collection of the first {@code passages} SciFact abstracts
 * (built once in setup, in memory; encoding all 5,183 takes about 10 minutes on 2 cores, hence a subset), with the
 * 1,109 SciFact claims as queries, cycled. {@code cache=warm}: every query was asked once in setup, so its
 * embedding comes from the query cache; {@code cache=cold}: the query cache is off, so every call encodes.
 * JMH's sample mode reports p50/p99 (the {@code p0.50}, {@code p0.99} rows) in microseconds.
 *
 * <p>Run: {@code ./mvnw -q -DskipTests -pl benchmarks -am package exec:exec@bench
 * -Dbench.args="ContextLatencyBenchmark"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 3, time = 10)
public class ContextLatencyBenchmark {
  @Param({"BGE_SMALL_EN_V15"})
  public ModelPreset preset;

  /** Knowledge passages indexed (the first ones of the SciFact corpus). */
  @Param({"2000"})
  public int passages;

  @Param({"warm", "cold"})
  public String cache;

  private LlmEmbedder embedder;
  private List<String> queries;
  private int next;

  @Setup
  public void setUp() throws IOException {
    embedder = LlmEmbedder.builder().model(preset).queryCacheSize(cache.equals("warm") ? 10_000 : 0).build();
    ObjectMapper json = new ObjectMapper();
    List<Document> docs = new ArrayList<>(passages);
    try (BufferedReader r = Files.newBufferedReader(SciFactTexts.dir().resolve("corpus.jsonl"))) {
      for (String line; docs.size() < passages && (line = r.readLine()) != null; ) {
        JsonNode n = json.readTree(line);
        docs.add(new Document(n.get("_id").asText(), n.get("title").asText(), n.get("text").asText(), Map.of()));
      }
    }
    long start = System.nanoTime();
    embedder.knowledge().addAll(docs);
    System.out.printf("%n[setup] indexed %d passages in %.0f s%n", docs.size(), (System.nanoTime() - start) / 1e9);
    queries = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(SciFactTexts.dir().resolve("queries.jsonl"))) {
      for (String line; (line = r.readLine()) != null; ) {
        queries.add(json.readTree(line).get("text").asText());
      }
    }
    if (cache.equals("warm")) {
      queries.forEach(this::context);
    }
  }

  private PromptContext context(String query) {
    return embedder.context(query).knowledge(3).build();
  }

  @TearDown
  public void tearDown() {
    embedder.close();
  }

  /** One context for the next query. */
  @Benchmark
  public PromptContext context() {
    String q = queries.get(next);
    next = (next + 1) % queries.size();
    return context(q);
  }
}
