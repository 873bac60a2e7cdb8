package dev.llmembedder.benchmarks;

import dev.llmembedder.index.DiskVectorIndex;
import dev.llmembedder.index.IndexHit;
import dev.llmembedder.index.SearchMode;
import dev.llmembedder.index.VectorIndex;
import io.github.jbellis.jvector.vector.VectorUtil;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Search benchmark harness (a plain main, not JMH: it needs per-query latency percentiles, recall against exact
 * search, build time and memory in one run). For {@link VectorIndex} in graph mode (full-precision, on-heap) and
 * {@link DiskVectorIndex} (PQ-scored graph walk on a memory-mapped file, exact re-ranking) over the same
 * structured synthetic vectors ({@link StructuredVectors}) it reports build time, heap and off-heap memory, size
 * on disk, recall@k against an exact scan, single-threaded queries/s with p50/p99 latency, and queries/s with
 * all threads.
 *
 * <pre>
 * ./mvnw -q -DskipTests -pl benchmarks -am package exec:exec@search -Dsearch.args="--size 100000"
 * </pre>
 *
 * Options (all optional): {@code --size N} vectors (default 100000), {@code --queries N} (1000),
 * {@code --dimension N} (384), {@code --k N} (10), {@code --threads N} (available processors),
 * {@code --seconds S} minimum timed seconds per measurement (3), {@code --indexes vector,disk},
 * {@code --pq-subspaces N} (dimension/4), {@code --max-degree N} (32), {@code --beam-width N} (100, build),
 * {@code --search-beams a,b,...} (100; DiskVectorIndex candidates re-ranked per query, one row each),
 * {@code --work DIR} (target/search-bench; index files are written there), {@code --reuse} (a flag: open the
 * {@code DiskVectorIndex} an earlier run with the same options left in {@code --work} instead of building it again,
 * so a long build can run while the machine is busy and the searches be timed later, when it is quiet; its build
 * column then reads {@code reused}).
 */
public final class SearchBenchmark {
  private static final VectorTypeSupport VECTORS = VectorizationProvider.getInstance().getVectorTypeSupport();

  /** Parsed command-line options. */
  record Options(int size, int queries, int dimension, int k, int threads, double seconds, Set<String> indexes,
      int pqSubspaces, int maxDegree, int beamWidth, int[] searchBeams, Path work, boolean reuse) {

    static Options parse(String... args) {
      int size = 100_000;
      int queries = 1000;
      int dimension = 384;
      int k = 10;
      int threads = Runtime.getRuntime().availableProcessors();
      double seconds = 3;
      Set<String> indexes = Set.of("vector", "disk");
      int pqSubspaces = -1;
      int maxDegree = 32;
      int beamWidth = 100;
      int[] searchBeams = {100};
      Path work = Path.of("target", "search-bench");
      boolean reuse = false;
      for (int i = 0; i < args.length; i += 2) {
        if (args[i].equals("--reuse")) {
          reuse = true;
          i--; // a flag: no value
          continue;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("option " + args[i] + " needs a value");
        }
        String value = args[i + 1];
        switch (args[i]) {
          case "--size" -> size = Integer.parseInt(value);
          case "--queries" -> queries = Integer.parseInt(value);
          case "--dimension" -> dimension = Integer.parseInt(value);
          case "--k" -> k = Integer.parseInt(value);
          case "--threads" -> threads = Integer.parseInt(value);
          case "--seconds" -> seconds = Double.parseDouble(value);
          case "--indexes" -> indexes = Set.of(value.split(","));
          case "--pq-subspaces" -> pqSubspaces = Integer.parseInt(value);
          case "--max-degree" -> maxDegree = Integer.parseInt(value);
          case "--beam-width" -> beamWidth = Integer.parseInt(value);
          case "--search-beams" -> searchBeams = Arrays.stream(value.split(",")).mapToInt(Integer::parseInt).toArray();
          case "--work" -> work = Path.of(value);
          default -> throw new IllegalArgumentException("unknown option " + args[i]
              + "; known: --size --queries --dimension --k --threads --seconds --indexes --pq-subspaces"
              + " --max-degree --beam-width --search-beams --work --reuse");
        }
      }
      if (!Set.of("vector", "disk").containsAll(indexes)) {
        throw new IllegalArgumentException("--indexes takes vector and/or disk, got: " + indexes);
      }
      return new Options(size, queries, dimension, k, threads, seconds, indexes,
          pqSubspaces > 0 ? pqSubspaces : Math.max(1, dimension / 4), maxDegree, beamWidth, searchBeams, work,
          reuse);
    }
  }

  /** One result row: an index configuration measured. Times in seconds and milliseconds, sizes in bytes. */
  record Row(String index, String settings, double buildSeconds, long heapBytes, long offHeapBytes, long diskBytes,
      double recall, double qpsSingle, double p50Millis, double p99Millis, double qpsAll) {
  }

  private final Options options;
  private final PrintStream log;

  private SearchBenchmark(Options options, PrintStream log) {
    this.options = options;
    this.log = log;
  }

  public static void main(String[] args) throws IOException, InterruptedException {
    Options options = Options.parse(args);
    List<Row> rows = run(options, System.err);
    System.out.println(table(options, rows));
  }

  /** Runs every configured measurement, logging progress to {@code log}, and returns the rows. */
  static List<Row> run(Options options, PrintStream log) throws IOException, InterruptedException {
    return new SearchBenchmark(options, log).run();
  }

  private List<Row> run() throws IOException, InterruptedException {
    long start = System.nanoTime();
    StructuredVectors generator = new StructuredVectors(options.dimension(), 42);
    float[][] vectors = generator.vectors(0, options.size());
    float[][] queries = generator.vectors(1, options.queries());
    List<String> ids = IntStream.range(0, options.size()).mapToObj(i -> "doc-" + i).toList();
    log.printf(Locale.ROOT, "generated %,d vectors and %,d queries of dimension %d in %.1f s%n",
        options.size(), options.queries(), options.dimension(), seconds(start));
    start = System.nanoTime();
    List<Set<String>> truth = exactTopK(vectors, queries, ids);
    log.printf(Locale.ROOT, "exact top-%d by parallel scan in %.1f s%n", options.k(), seconds(start));

    List<Row> rows = new ArrayList<>();
    Files.createDirectories(options.work());
    if (options.indexes().contains("vector")) {
      rows.add(vectorIndex(ids, vectors, queries, truth));
    }
    if (options.indexes().contains("disk")) {
      rows.addAll(diskIndex(ids, vectors, queries, truth));
    }
    return rows;
  }

  private Row vectorIndex(List<String> ids, float[][] vectors, float[][] queries, List<Set<String>> truth)
      throws IOException, InterruptedException {
    long heapBefore = usedHeapAfterGc();
    long start = System.nanoTime();
    try (VectorIndex index = VectorIndex.builder(options.dimension()).searchMode(SearchMode.GRAPH)
        .maxDegree(options.maxDegree()).beamWidth(options.beamWidth()).build()) {
      index.addAll(ids, vectors);
      double build = seconds(start);
      log.printf(Locale.ROOT, "VectorIndex (graph) built in %.1f s%n", build);
      long heap = usedHeapAfterGc() - heapBefore;
      Path directory = options.work().resolve("vector-index");
      index.save(directory);
      String settings = "M " + options.maxDegree() + ", beam " + options.beamWidth() + ", search beam 100, fp32";
      return measure("VectorIndex (graph, on-heap)", settings, build, heap, 0, directorySize(directory),
          queries, truth, (q, k) -> index.search(q, k));
    }
  }

  private List<Row> diskIndex(List<String> ids, float[][] vectors, float[][] queries, List<Set<String>> truth)
      throws IOException, InterruptedException {
    Path directory = options.work().resolve("disk-index");
    double build = Double.NaN; // reused: not built in this run
    if (options.reuse() && Files.isDirectory(directory)) {
      log.println("DiskVectorIndex reused from " + directory);
    } else {
      long start = System.nanoTime();
      DiskVectorIndex.builder(options.dimension()).pqSubspaces(options.pqSubspaces())
          .maxDegree(options.maxDegree()).beamWidth(options.beamWidth())
          .build(directory, ids, vectors).close();
      build = seconds(start);
      log.printf(Locale.ROOT, "DiskVectorIndex built (graph, PQ, files, fsync, open) in %.1f s%n", build);
    }
    long heapBefore = usedHeapAfterGc();
    List<Row> rows = new ArrayList<>();
    try (DiskVectorIndex index = DiskVectorIndex.open(directory)) {
      if (index.size() != ids.size()) {
        throw new IllegalStateException("--reuse: " + directory + " holds " + index.size() + " vectors, not --size "
            + ids.size() + "; run once without --reuse");
      }
      long heap = usedHeapAfterGc() - heapBefore;
      long mapped;
      try (Stream<Path> files = Files.list(directory)) {
        mapped = files.filter(p -> p.getFileName().toString().startsWith("graph-")).mapToLong(SearchBenchmark::size)
            .sum();
      }
      for (int beam : options.searchBeams()) {
        String settings = "M " + options.maxDegree() + ", beam " + options.beamWidth() + ", PQ "
            + options.pqSubspaces() + " B, rerank " + beam;
        rows.add(measure("DiskVectorIndex (PQ + mmap)", settings, build, heap, mapped, directorySize(directory),
            queries, truth, (q, k) -> index.search(q, k, beam)));
      }
    }
    return rows;
  }

  private Row measure(String name, String settings, double build, long heap, long offHeap, long disk,
      float[][] queries, List<Set<String>> truth, BiFunction<float[], Integer, List<IndexHit>> search)
      throws InterruptedException {
    int k = options.k();
    for (float[] query : queries) { // warm-up: JIT, page cache, per-thread searchers
      search.apply(query, k);
    }
    int found = 0;
    for (int i = 0; i < queries.length; i++) {
      for (IndexHit hit : search.apply(queries[i], k)) {
        found += truth.get(i).contains(hit.id()) ? 1 : 0;
      }
    }
    double recall = (double) found / ((long) queries.length * Math.min(k, options.size()));

    List<Long> latencies = new ArrayList<>();
    long deadline = System.nanoTime() + (long) (options.seconds() * 1e9);
    long timedStart = System.nanoTime();
    do {
      for (float[] query : queries) {
        long t0 = System.nanoTime();
        search.apply(query, k);
        latencies.add(System.nanoTime() - t0);
      }
    } while (System.nanoTime() < deadline);
    double qpsSingle = latencies.size() / seconds(timedStart);
    long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();

    AtomicLong done = new AtomicLong();
    CountDownLatch finished = new CountDownLatch(options.threads());
    long allStart = System.nanoTime();
    long allDeadline = allStart + (long) (options.seconds() * 1e9);
    for (int t = 0; t < options.threads(); t++) {
      int offset = t * queries.length / options.threads();
      Thread.ofPlatform().start(() -> {
        try {
          long count = 0;
          do {
            for (int i = 0; i < queries.length; i++) {
              search.apply(queries[(offset + i) % queries.length], k);
              count++;
            }
          } while (System.nanoTime() < allDeadline);
          done.addAndGet(count);
        } finally {
          finished.countDown();
        }
      });
    }
    finished.await();
    double qpsAll = done.get() / seconds(allStart);
    Row row = new Row(name, settings, build, heap, offHeap, disk, recall, qpsSingle,
        percentile(sorted, 0.50) / 1e6, percentile(sorted, 0.99) / 1e6, qpsAll);
    log.println(row);
    return row;
  }

  /** The ids of the exact top {@code k} of every query, by a parallel scan with jvector's SIMD dot product. */
  private List<Set<String>> exactTopK(float[][] vectors, float[][] queries, List<String> ids) {
    List<VectorFloat<?>> wrapped = Arrays.stream(vectors).map(VECTORS::createFloatVector).collect(Collectors.toList());
    return Arrays.stream(queries).parallel().map(query -> {
      VectorFloat<?> q = VECTORS.createFloatVector(query);
      int k = Math.min(options.k(), vectors.length);
      int[] best = new int[k];
      float[] scores = new float[k];
      Arrays.fill(scores, Float.NEGATIVE_INFINITY);
      for (int i = 0; i < wrapped.size(); i++) {
        float score = VectorUtil.dotProduct(q, wrapped.get(i));
        if (score > scores[k - 1]) {
          int j = k - 1;
          while (j > 0 && scores[j - 1] < score) {
            scores[j] = scores[j - 1];
            best[j] = best[j - 1];
            j--;
          }
          scores[j] = score;
          best[j] = i;
        }
      }
      Set<String> top = new HashSet<>();
      for (int i : best) {
        top.add(ids.get(i));
      }
      return top;
    }).toList();
  }

  static String table(Options options, List<Row> rows) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "%,d vectors, dimension %d, %,d queries, recall@%d vs exact scan, "
            + "%d threads for the all-threads column, JDK %s, %s%n%n", options.size(), options.dimension(),
        options.queries(), options.k(), options.threads(), Runtime.version(), cpu()));
    out.append("| index | settings | build s | heap MB | off-heap (mapped) MB | disk MB | recall@")
        .append(options.k()).append(" | q/s 1 thread | p50 ms | p99 ms | q/s all threads |\n");
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      String build = Double.isNaN(r.buildSeconds()) ? "reused" : String.format(Locale.ROOT, "%.1f", r.buildSeconds());
      out.append(String.format(Locale.ROOT, "| %s | %s | %s | %.0f | %.0f | %.0f | %.3f | %.0f | %.3f | %.3f | %.0f |%n",
          r.index(), r.settings(), build, r.heapBytes() / 1e6, r.offHeapBytes() / 1e6,
          r.diskBytes() / 1e6, r.recall(), r.qpsSingle(), r.p50Millis(), r.p99Millis(), r.qpsAll()));
    }
    out.append(String.format(Locale.ROOT, "%nprocess RSS at the end: %s%n", rss()));
    return out.toString();
  }

  private static double percentile(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static long directorySize(Path directory) {
    try (Stream<Path> files = Files.list(directory)) {
      return files.mapToLong(SearchBenchmark::size).sum();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String rss() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/status"))) {
      return lines.filter(l -> l.startsWith("VmRSS:")).map(l -> l.substring(6).trim()).findFirst().orElse("n/a");
    } catch (IOException | RuntimeException e) {
      return "n/a (no /proc)";
    }
  }

  private static String cpu() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst().orElse(System.getProperty("os.arch")) + " (" + Runtime.getRuntime().availableProcessors()
          + " cores)";
    } catch (IOException | RuntimeException e) {
      return System.getProperty("os.arch");
    }
  }
}
