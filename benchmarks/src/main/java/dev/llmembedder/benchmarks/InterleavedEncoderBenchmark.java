package dev.llmembedder.benchmarks;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15.BgeSmallEnV15EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15q.BgeSmallEnV15QuantizedEmbeddingModel;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Encoder throughput against LangChain4j's in-process bge-small-en-v1.5 on a shared, noisy machine: a plain main that
 * runs <em>rounds</em>, each encoding the same sample once with LangChain4j's {@code embedAll} and once with each of
 * our configurations, one after the other (the order rotating from round to round), and takes the ratio to
 * LangChain4j <em>within</em> each round. Load that comes and goes then hits both sides of a ratio about equally, where
 * back-to-back JMH runs of minutes each measure the load as much as the code. It reports, per configuration, the
 * median texts/s and the median, minimum and maximum of the per-round ratios.
 *
 * <pre>
 * ./mvnw -q -DskipTests -pl benchmarks -am package exec:exec@rounds -Drounds.args="--preset int8 --texts passages"
 * </pre>
 *
 * Options (all optional): {@code --preset fp32|int8} (fp32: {@link ModelPreset#BGE_SMALL_EN_V15}, int8:
 * {@link ModelPreset#BGE_SMALL_EN_V15_INT8}), {@code --texts passages|queries} (SciFact abstracts of at most 510
 * tokens, or claims; {@link SciFactTexts}), {@code --count N} texts per round (32), {@code --rounds N} measured rounds
 * (6), {@code --warmup N} unmeasured rounds first (1), {@code --configs c1,c2,...} our configurations, each
 * {@code rewrite/batch[/RxT]} with rewrite {@code on} or {@code off} ({@link Encoder.Builder#graphRewrite}), batch the
 * texts per model run ({@code batchTokens = batch x 512}; default {@code off/1,on/1} for passages,
 * {@code off/32,on/32} for queries) and, optionally, R runs at once of T intra-op threads each
 * ({@link Encoder.Builder#parallelRuns}, {@link Encoder.Builder#intraOpThreads}). Everything else is the encoder's
 * default (as many single-threaded runs at once as cores). Before measuring it prints each configuration's worst
 * cosine against LangChain4j's embeddings of the sample.
 */
public final class InterleavedEncoderBenchmark {
  private static final int MAX_TOKENS = 512;

  /** Parsed command-line options. */
  record Options(String preset, String texts, int count, int rounds, int warmup, List<Config> configs) {
    static Options parse(String... args) {
      String preset = "fp32";
      String texts = "passages";
      int count = 32;
      int rounds = 6;
      int warmup = 1;
      String configs = null;
      for (int i = 0; i < args.length; i += 2) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + args[i] + " needs a value");
        }
        String value = args[i + 1];
        switch (args[i]) {
          case "--preset" -> preset = value;
          case "--texts" -> texts = value;
          case "--count" -> count = Integer.parseInt(value);
          case "--rounds" -> rounds = Integer.parseInt(value);
          case "--warmup" -> warmup = Integer.parseInt(value);
          case "--configs" -> configs = value;
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + "; known: --preset --texts --count --rounds --warmup --configs");
        }
      }
      if (!preset.equals("fp32") && !preset.equals("int8")) {
        throw new IllegalArgumentException("--preset is '" + preset + "'; allowed: fp32, int8");
      }
      if (count < 1 || rounds < 1 || warmup < 0) {
        throw new IllegalArgumentException("--count and --rounds must be at least 1, --warmup at least 0");
      }
      if (configs == null) {
        configs = texts.equals("queries") ? "off/32,on/32" : "off/1,on/1";
      }
      return new Options(preset, texts, count, rounds, warmup, Arrays.stream(configs.split(",")).map(Config::parse)
          .toList());
    }

    ModelPreset modelPreset() {
      return preset.equals("int8") ? ModelPreset.BGE_SMALL_EN_V15_INT8 : ModelPreset.BGE_SMALL_EN_V15;
    }
  }

  /** One of our configurations: graph rewrite on or off, texts per model run. */
  record Config(boolean rewrite, int batch, int runs, int threads) {
    static Config parse(String s) {
      String[] parts = s.split("/");
      if (parts.length < 2 || parts.length > 3 || !(parts[0].equals("on") || parts[0].equals("off"))
          || (parts.length == 3 && !parts[2].matches("[1-9][0-9]*x[1-9][0-9]*"))) {
        throw new IllegalArgumentException("configuration '" + s + "' is not rewrite/batch[/runsxthreads],"
            + " e.g. on/1, off/32 or on/32/1x2");
      }
      int runs = 0;
      int threads = 0;
      if (parts.length == 3) {
        String[] rt = parts[2].split("x");
        runs = Integer.parseInt(rt[0]);
        threads = Integer.parseInt(rt[1]);
      }
      return new Config(parts[0].equals("on"), Integer.parseInt(parts[1]), runs, threads);
    }

    Encoder build(ModelPreset preset) {
      Encoder.Builder b = Encoder.builder().preset(preset).graphRewrite(rewrite).batchSize(batch)
          .batchTokens(batch * MAX_TOKENS).queryCacheSize(0);
      if (runs > 0) {
        b.parallelRuns(runs).intraOpThreads(threads);
      }
      return b.build();
    }

    @Override
    public String toString() {
      return "ours, rewrite " + (rewrite ? "on" : "off") + ", batch " + batch
          + (runs > 0 ? ", " + runs + " runs x " + threads + " threads" : "");
    }
  }

  /** One configuration's result: median texts/s and the per-round ratios to LangChain4j. */
  record Row(String encoder, double medianTextsPerSecond, double medianRatio, double minRatio, double maxRatio,
      double worstCosine) {}

  private InterleavedEncoderBenchmark() {}

  public static void main(String[] args) throws IOException {
    Options options = Options.parse(args);
    List<Row> rows = run(options, System.err);
    System.out.println(table(options, rows));
  }

  /** Runs the rounds; progress and each round's figures go to {@code log}. */
  static List<Row> run(Options o, PrintStream log) throws IOException {
    ModelPreset preset = o.modelPreset();
    Map<Config, Encoder> ours = new LinkedHashMap<>();
    try {
      for (Config c : o.configs()) {
        ours.put(c, c.build(preset));
      }
      Encoder counter = ours.values().iterator().next();
      List<String> texts = SciFactTexts.read(o.texts(), o.count(), MAX_TOKENS - 2, counter);
      long tokens = SciFactTexts.tokens(texts, counter);
      log.printf(Locale.ROOT, "%d %s, %.1f tokens on average; %s; %d warm-up and %d measured rounds%n", texts.size(),
          o.texts(), (double) tokens / texts.size(), preset, o.warmup(), o.rounds());
      EmbeddingModel langchain4j = preset == ModelPreset.BGE_SMALL_EN_V15_INT8
          ? new BgeSmallEnV15QuantizedEmbeddingModel() : new BgeSmallEnV15EmbeddingModel();
      List<TextSegment> segments = texts.stream().map(TextSegment::from).toList();
      List<Embedding> reference = langchain4j.embedAll(segments).content();
      Map<Config, Double> worst = new LinkedHashMap<>();
      for (Map.Entry<Config, Encoder> e : ours.entrySet()) {
        worst.put(e.getKey(), worstCosine(e.getValue().encode(texts, "", MAX_TOKENS), reference));
        log.printf(Locale.ROOT, "[check] %s: worst cosine to LangChain4j %.6f%n", e.getKey(), worst.get(e.getKey()));
      }
      int sides = ours.size() + 1; // LangChain4j is side 0
      double[] lc4j = new double[o.rounds()];
      double[][] rates = new double[ours.size()][o.rounds()];
      List<Encoder> encoders = List.copyOf(ours.values());
      for (int round = -o.warmup(); round < o.rounds(); round++) {
        double[] rate = new double[sides];
        for (int k = 0; k < sides; k++) {
          int side = Math.floorMod(round + k, sides);
          long start = System.nanoTime();
          if (side == 0) {
            langchain4j.embedAll(segments);
          } else {
            encoders.get(side - 1).encode(texts, "", MAX_TOKENS);
          }
          rate[side] = texts.size() / ((System.nanoTime() - start) / 1e9);
        }
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s %d: LangChain4j %.2f texts/s",
            round < 0 ? "warm-up" : "round", round < 0 ? round + o.warmup() + 1 : round + 1, rate[0]));
        for (int c = 0; c < encoders.size(); c++) {
          line.append(String.format(Locale.ROOT, "; %s %.2f (%.2fx)", o.configs().get(c), rate[c + 1],
              rate[c + 1] / rate[0]));
          if (round >= 0) {
            rates[c][round] = rate[c + 1];
          }
        }
        if (round >= 0) {
          lc4j[round] = rate[0];
        }
        log.println(line);
      }
      List<Row> rows = new ArrayList<>();
      rows.add(new Row("LangChain4j embedAll", median(lc4j), 1, 1, 1, 1));
      for (int c = 0; c < encoders.size(); c++) {
        double[] ratio = new double[o.rounds()];
        for (int r = 0; r < o.rounds(); r++) {
          ratio[r] = rates[c][r] / lc4j[r];
        }
        rows.add(new Row(o.configs().get(c).toString(), median(rates[c]), median(ratio),
            Arrays.stream(ratio).min().orElseThrow(), Arrays.stream(ratio).max().orElseThrow(),
            worst.get(o.configs().get(c))));
      }
      return rows;
    } finally {
      ours.values().forEach(Encoder::close);
    }
  }

  private static double worstCosine(float[][] ours, List<Embedding> theirs) {
    double worst = 1;
    for (int i = 0; i < ours.length; i++) {
      float[] t = theirs.get(i).vector();
      double dot = 0;
      double norm = 0;
      for (int d = 0; d < t.length; d++) {
        dot += ours[i][d] * t[d];
        norm += (double) t[d] * t[d];
      }
      worst = Math.min(worst, dot / Math.sqrt(norm)); // ours are unit vectors
    }
    return worst;
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** The results as a Markdown table (as in benchmarks/README.md). */
  static String table(Options o, List<Row> rows) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "%s, %s, %d texts, %d rounds%n%n| encoder | texts/s (median) | vs LangChain4j: median | min | max |"
            + " worst cosine |%n|---|---:|---:|---:|---:|---:|%n", o.preset(), o.texts(), o.count(), o.rounds()));
    for (Row r : rows) {
      sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.2fx | %.2fx | %.2fx | %.6f |%n", r.encoder(),
          r.medianTextsPerSecond(), r.medianRatio(), r.minRatio(), r.maxRatio(), r.worstCosine()));
    }
    return sb.toString();
  }
}
