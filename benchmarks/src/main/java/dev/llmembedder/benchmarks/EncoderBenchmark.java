package dev.llmembedder.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoder throughput in texts/s on real SciFact text: abstracts ({@code title + " " + text}, natural length mix) or
 * claims (short queries), for both embedded presets and several batch sizes. Reads {@code ../shared/data/scifact}
 * (override with {@code -Dllmembedder.shared.dir=...}).
 *
 * <p>Run: {@code ./mvnw -q -DskipTests -pl benchmarks -am package exec:exec@bench -Dbench.args="EncoderBenchmark"}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 1, time = 20)
@Measurement(iterations = 3, time = 20)
public class EncoderBenchmark {
  static final int TEXTS = 64;

  @Param({"BGE_SMALL_EN_V15", "BGE_SMALL_EN_V15_INT8"})
  public ModelPreset preset;

  @Param({"passages", "queries"})
  public String texts;

  @Param({"1", "8", "32"})
  public int batchSize;

  private Encoder encoder;
  private List<String> data;

  @Setup
  public void setUp() throws IOException {
    Path scifact = Path.of(System.getProperty("llmembedder.shared.dir", "../shared"), "data", "scifact");
    data = read(scifact.resolve(texts.equals("passages") ? "corpus.jsonl" : "queries.jsonl"));
    encoder = Encoder.builder().preset(preset).batchSize(batchSize).queryCacheSize(0).build();
  }

  private List<String> read(Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> out = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(file)) {
      for (String line; out.size() < TEXTS && (line = r.readLine()) != null; ) {
        JsonNode n = json.readTree(line);
        out.add(n.has("title") ? n.get("title").asText() + " " + n.get("text").asText() : n.get("text").asText());
      }
    }
    return out;
  }

  @TearDown
  public void tearDown() {
    encoder.close();
  }

  /** Encodes {@value #TEXTS} texts per invocation; the score is texts/s. */
  @Benchmark
  @OperationsPerInvocation(TEXTS)
  public float[][] encode() {
    return encoder.encode(data, "", 512);
  }
}
