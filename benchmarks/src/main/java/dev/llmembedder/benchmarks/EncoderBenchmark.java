package dev.llmembedder.benchmarks;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15.BgeSmallEnV15EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15q.BgeSmallEnV15QuantizedEmbeddingModel;
import dev.llmembedder.encoder.Device;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * Encoder throughput on real SciFact text, ours against LangChain4j's in-process bge-small-en-v1.5 (the same ONNX
 * files) in the same run: abstracts ({@code passages}, natural length mix, those of at most 510 tokens, since
 * LangChain4j splits longer texts into windows and averages them) or claims ({@code queries}), for both presets.
 *
 * <p>Read the secondary counters: {@code :texts} is texts/s, {@code :tokens} tokens/s (the sample's tokens,
 * special tokens included); the primary score counts whole samples per second. {@code ours} encodes the sample
 * with {@code Encoder.encode} at {@code batchSize} texts per model run (batchTokens = batchSize x 512, so the count is the only cap) and the
 * encoder's default threads; {@code langchain4j} calls {@code embedAll}, which encodes each text as its own batch of
 * 1 on LangChain4j's thread pool. Before measuring, the {@code langchain4j} setup checks that both give the same
 * embeddings (cosine >= 0.999 on the first 32 texts, encoded one at a time) and fails otherwise; it also prints
 * the worst cosine in batches of 32, where int8 embeddings move slightly (per-tensor dynamic quantisation).
 *
 * <p><b>GPU mode</b> (GPU-only; needs {@code -Pgpu} and an NVIDIA GPU):
 * {@code -p device=CUDA -p batchSize=32,128,256,512} runs {@code ours} on CUDA device 0; compare with the CPU rows.
 *
 * <p>Run (all of it): {@code ./mvnw -q -DskipTests -pl benchmarks -am package exec:exec@bench
 * -Dbench.args="EncoderBenchmark"}; see {@code benchmarks/README.md} for the exact command behind the table.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 3, time = 10)
public class EncoderBenchmark {
  /** LangChain4j's window: 510 tokens plus [CLS] and [SEP]. */
  static final int MAX_TOKENS = 512;
  static final int CHECKED = 32;

  /** What both sides share: the preset and the texts. */
  @State(Scope.Benchmark)
  public static class Sample {
    @Param({"BGE_SMALL_EN_V15", "BGE_SMALL_EN_V15_INT8"})
    public ModelPreset preset;

    @Param({"passages", "queries"})
    public String texts;

    /** Texts per invocation. */
    @Param({"256"})
    public int count;

    List<String> data;
    long tokens;

    @Setup
    public void setUp() throws IOException {
      try (Encoder counter = Encoder.builder().preset(preset).parallelRuns(1).queryCacheSize(0).build()) {
        data = SciFactTexts.read(texts, count, MAX_TOKENS, counter);
        tokens = SciFactTexts.tokens(data, counter);
      }
      System.out.printf("%n[sample] %d %s, %d tokens, %.1f tokens per text%n", data.size(), texts, tokens,
          (double) tokens / data.size());
    }
  }

  /** Our encoder at a batch size. */
  @State(Scope.Benchmark)
  public static class Ours {
    @Param({"1", "8", "32", "128"})
    public int batchSize;

    /** CPU; CUDA for the GPU-only mode. */
    @Param({"CPU"})
    public Device device;

    Encoder encoder;

    @Setup
    public void setUp(Sample sample) {
      encoder = Encoder.builder().preset(sample.preset).device(device).batchSize(batchSize)
          .batchTokens(batchSize * MAX_TOKENS).queryCacheSize(0).build();
    }

    @TearDown
    public void tearDown() {
      encoder.close();
    }
  }

  /** LangChain4j's in-process model of the same preset, checked against ours. */
  @State(Scope.Benchmark)
  public static class LangChain4j {
    EmbeddingModel model;
    List<TextSegment> segments;

    @Setup
    public void setUp(Sample sample) {
      model = switch (sample.preset) {
        case BGE_SMALL_EN_V15 -> new BgeSmallEnV15EmbeddingModel();
        case BGE_SMALL_EN_V15_INT8 -> new BgeSmallEnV15QuantizedEmbeddingModel();
      };
      segments = sample.data.stream().map(TextSegment::from).toList();
      List<String> checked = sample.data.subList(0, Math.min(CHECKED, sample.data.size()));
      List<Embedding> theirs = model.embedAll(segments.subList(0, checked.size())).content();
      float alone = worstCosine(sample.preset, 1, checked, theirs);
      if (!(alone >= 0.999f)) {
        throw new IllegalStateException("LangChain4j's " + sample.preset + " embeddings differ from ours: worst "
            + "cosine " + alone + " < 0.999 over the first " + checked.size() + " " + sample.texts);
      }
      System.out.printf("[check] %s: LangChain4j = ours, worst cosine %.6f over %d %s one at a time, %.6f in "
          + "batches of 32%n", sample.preset, alone, checked.size(), sample.texts,
          worstCosine(sample.preset, 32, checked, theirs));
    }

    /**
     * The int8 graph quantises activations with one scale per tensor, so a text's embedding moves slightly with its
     * batchmates: the check compares texts encoded one at a time, as LangChain4j encodes them.
     */
    private static float worstCosine(ModelPreset preset, int batchSize, List<String> texts, List<Embedding> theirs) {
      float[][] ours;
      try (Encoder encoder = Encoder.builder().preset(preset).batchSize(batchSize).queryCacheSize(0).build()) {
        ours = encoder.encode(texts, "", MAX_TOKENS);
      }
      float worst = 1f;
      for (int i = 0; i < texts.size(); i++) {
        float[] t = theirs.get(i).vector();
        float cos = 0;
        for (int d = 0; d < t.length; d++) {
          cos += ours[i][d] * t[d];
        }
        worst = Math.min(worst, cos);
      }
      return worst;
    }
  }

  /** Texts and tokens encoded, which JMH reports per second ({@code :texts}, {@code :tokens}). */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  public static class Counters {
    public long texts;
    public long tokens;

    @Setup(Level.Iteration)
    public void reset() {
      texts = 0;
      tokens = 0;
    }

    void add(Sample sample) {
      texts += sample.data.size();
      tokens += sample.tokens;
    }
  }

  /** Our encoder on the whole sample (the primary score counts samples; read {@code :texts}, {@code :tokens}). */
  @Benchmark
  public float[][] ours(Sample sample, Ours ours, Counters counters) {
    float[][] out = ours.encoder.encode(sample.data, "", MAX_TOKENS);
    counters.add(sample);
    return out;
  }

  /** LangChain4j's {@code embedAll} on the whole sample (as {@link #ours}). */
  @Benchmark
  public List<Embedding> langchain4j(Sample sample, LangChain4j lc4j, Counters counters) {
    List<Embedding> out = lc4j.model.embedAll(lc4j.segments).content();
    counters.add(sample);
    return out;
  }
}
