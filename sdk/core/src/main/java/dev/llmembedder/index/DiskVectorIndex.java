package dev.llmembedder.index;

import io.github.jbellis.jvector.disk.BufferedRandomAccessWriter;
import io.github.jbellis.jvector.disk.RandomAccessReader;
import io.github.jbellis.jvector.disk.ReaderSupplier;
import io.github.jbellis.jvector.disk.ReaderSupplierFactory;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.ImmutableGraphIndex;
import io.github.jbellis.jvector.graph.ListRandomAccessVectorValues;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.disk.OnDiskGraphIndex;
import io.github.jbellis.jvector.graph.disk.OnDiskGraphIndexWriter;
import io.github.jbellis.jvector.graph.disk.OrdinalMapper;
import io.github.jbellis.jvector.graph.disk.feature.Feature;
import io.github.jbellis.jvector.graph.disk.feature.FeatureId;
import io.github.jbellis.jvector.graph.disk.feature.InlineVectors;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.ScoreFunction;
import io.github.jbellis.jvector.quantization.PQVectors;
import io.github.jbellis.jvector.quantization.ProductQuantization;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.util.ExplicitThreadLocal;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorUtil;
import io.github.jbellis.jvector.vector.types.VectorFloat;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An immutable, on-disk nearest-neighbour index for large collections of {@code float[dimension]} vectors under
 * string ids, scored by the plain dot product (for the L2-normalised vectors an encoder produces, the cosine
 * similarity). Built in bulk by {@link Builder#build}; {@link VectorIndex} is the mutable, in-memory
 * alternative.
 *
 * <pre>{@code
 * try (DiskVectorIndex index = DiskVectorIndex.builder(384).build(Path.of("big-index"), ids, vectors)) {
 *     List<IndexHit> hits = index.search(query, 10);
 * }
 * // later, in another process:
 * try (DiskVectorIndex index = DiskVectorIndex.open(Path.of("big-index"))) { ... }
 * }</pre>
 *
 * <p><b>How it searches.</b> This is jvector's DiskANN-style layout: a proximity graph whose file holds, per
 * node, its neighbour list and its full-precision vector ({@code INLINE_VECTORS}), plus product-quantized
 * codes of every vector ({@link Builder#pqSubspaces(int)} bytes each). A search walks the graph scoring
 * candidates by the compressed codes, keeps the best {@code searchBeamWidth}, re-ranks all of them by the exact
 * dot product with their full vectors read from the graph file, and returns the top {@code k}. Returned scores
 * are therefore exact dot products; only which vectors are found is approximate.
 *
 * <p><b>Memory.</b> {@link #open(Path)} memory-maps the graph file (the operating system pages it in on
 * demand) and loads only the ids and the compressed codes into the heap: for 1,000,000 vectors of dimension 384
 * with 96 subspaces, about 96 MB of codes instead of 1.5 GB of vectors. Building holds the caller's vectors and
 * the graph in the heap.
 *
 * <p><b>Files.</b> A directory holds {@code graph-<gen>.bin} (jvector's on-disk graph format),
 * {@code pq-<gen>.bin} (jvector's PQ codebooks and codes), {@code ids-<gen>.bin} and {@code manifest.json},
 * which records the settings and each file's size and CRC32C. Building writes a new generation and then
 * replaces the manifest atomically (temp file, fsync, rename), so a crash leaves the previous version
 * readable; {@link #open(Path)} verifies every checksum (reading each file once).
 *
 * <p><b>Thread safety.</b> Instances are immutable and thread-safe: any number of threads may search at once
 * (each thread gets its own jvector searcher and file view). {@link #close()} waits for running searches; after
 * it every method except {@code close} throws {@link IllegalStateException}.
 */
public final class DiskVectorIndex implements AutoCloseable {
  static final String KIND = "disk-vector-index";
  private static final String GRAPH = "graph";
  private static final String PQ = "pq";
  private static final String IDS = "ids";
  private static final int IDS_MAGIC = 0x4C454944; // "LEID"
  private static final int IDS_VERSION = 1;
  private static final int MAX_ID_BYTES = 1 << 20;
  private static final int PQ_CLUSTERS = 256;
  private static final float NEIGHBOR_OVERFLOW = 1.2f;
  private static final float ALPHA = 1.2f;
  private static final VectorSimilarityFunction SIMILARITY = VectorSimilarityFunction.DOT_PRODUCT;

  private final DiskIndexConfig config;
  private final String[] ids;
  private final PQVectors codes;
  private final ReaderSupplier graphReaders;
  private final OnDiskGraphIndex graph;
  private final ExplicitThreadLocal<Searcher> searchers;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private boolean closed; // guarded by lock

  /** A thread's searcher over its own view of the graph file, and a buffer for full vectors read from it. */
  private record Searcher(GraphSearcher searcher, OnDiskGraphIndex.View view, VectorFloat<?> vector)
      implements AutoCloseable {
    @Override
    public void close() throws IOException {
      searcher.close(); // closes the view
    }
  }

  private DiskVectorIndex(DiskIndexConfig config, String[] ids, PQVectors codes, ReaderSupplier graphReaders,
      OnDiskGraphIndex graph) {
    this.config = config;
    this.ids = ids;
    this.codes = codes;
    this.graphReaders = graphReaders;
    this.graph = graph;
    this.searchers = ExplicitThreadLocal.withInitial(() -> {
      GraphSearcher searcher = new GraphSearcher(graph); // opens its own view of the graph file
      return new Searcher(searcher, (OnDiskGraphIndex.View) searcher.getView(),
          Checks.VECTORS.createFloatVector(config.dimension()));
    });
  }

  /**
   * Starts configuring an index.
   *
   * @param dimension the length of every vector, at least 1
   * @return a builder with the defaults documented on its methods
   * @throws IllegalArgumentException if {@code dimension < 1}
   */
  public static Builder builder(int dimension) {
    return new Builder(IndexConfig.checkDimension(dimension));
  }

  /**
   * Returns the {@code k} vectors with the highest dot product with {@code query}, searching with the
   * {@link Builder#searchBeamWidth(int) searchBeamWidth} the index was built with.
   *
   * @param query {@code float[dimension()]} with finite components
   * @param k     the number of hits wanted, at least 1; if fewer vectors are stored, all are returned
   * @return {@code min(k, size())} hits, by score descending, ties by id ascending; scores are exact dot
   *         products. The search is approximate: a hit may be missing in favour of a slightly worse one.
   * @throws NullPointerException     if {@code query} is null
   * @throws IllegalArgumentException if {@code k < 1}, or {@code query} has the wrong dimension or a NaN or
   *                                  infinite component
   * @throws IllegalStateException    if the index is closed
   * @throws UncheckedIOException     if reading the graph file fails
   */
  public List<IndexHit> search(float[] query, int k) {
    return search(query, k, config.searchBeamWidth());
  }

  /**
   * Returns the {@code k} vectors with the highest dot product with {@code query}, keeping
   * {@code max(k, searchBeamWidth)} candidates scored by their compressed codes and re-ranking all of them by
   * their full vectors. A wider beam raises recall and latency (each re-ranked candidate is a read of
   * {@code 4 * dimension} bytes from the graph file).
   *
   * @param query           {@code float[dimension()]} with finite components
   * @param k               the number of hits wanted, at least 1
   * @param searchBeamWidth candidates kept and re-ranked, in [1, 10000]
   * @return {@code min(k, size())} hits, by score descending, ties by id ascending; exact dot-product scores
   * @throws NullPointerException     if {@code query} is null
   * @throws IllegalArgumentException if {@code k < 1}, {@code searchBeamWidth} is out of range, or
   *                                  {@code query} has the wrong dimension, a NaN or infinite component or an L2
   *                                  norm over 1e19
   * @throws IllegalStateException    if the index is closed
   * @throws UncheckedIOException     if reading the graph file fails
   */
  public List<IndexHit> search(float[] query, int k, int searchBeamWidth) {
    Checks.k(k);
    IndexConfig.checkBeamWidth(searchBeamWidth, "searchBeamWidth");
    VectorFloat<?> q = Checks.vector(query, config.dimension(), "query");
    lock.readLock().lock();
    try {
      ensureOpen();
      int wanted = Math.min(k, ids.length);
      Searcher s = searchers.get();
      ScoreFunction.ApproximateScoreFunction approximate = codes.precomputedScoreFunctionFor(q, SIMILARITY);
      ScoreFunction.ExactScoreFunction exact = node -> {
        s.view().getVectorInto(node, s.vector(), 0);
        return VectorUtil.dotProduct(q, s.vector());
      };
      SearchResult result = s.searcher().search(new DefaultSearchScoreProvider(approximate, exact), wanted,
          Math.max(wanted, searchBeamWidth), Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Bits.ALL);
      List<IndexHit> hits = new ArrayList<>(wanted);
      for (SearchResult.NodeScore node : result.getNodes()) {
        hits.add(new IndexHit(ids[node.node], node.score)); // re-ranked: the exact dot product
      }
      hits.sort(IndexHit.ORDER);
      return hits;
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Returns the number of vectors.
   *
   * @return the number of ids the index was built with
   * @throws IllegalStateException if the index is closed
   */
  public int size() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return ids.length;
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Returns the length every query must have.
   *
   * @return the dimension the index was built with
   * @throws IllegalStateException if the index is closed
   */
  public int dimension() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return config.dimension();
    } finally {
      lock.readLock().unlock();
    }
  }

  DiskIndexConfig config() {
    return config;
  }

  /**
   * Opens the index last built into {@code directory}, with the settings it was built with. Every file is
   * checked against the size and CRC32C recorded in {@code manifest.json}; the graph file is then memory-mapped,
   * the ids and compressed codes are read into the heap.
   *
   * @param directory a directory written by {@link Builder#build}
   * @return the open index; close it to unmap the graph file
   * @throws NullPointerException  if {@code directory} is null
   * @throws NoSuchFileException   if {@code directory} holds no saved index
   * @throws CorruptIndexException if a file is missing, truncated, fails its checksum or cannot be parsed, or
   *                               the files disagree with each other; the message names the file
   * @throws IOException           if reading fails, or the directory holds another kind of index
   */
  public static DiskVectorIndex open(Path directory) throws IOException {
    Objects.requireNonNull(directory, "directory must not be null");
    Manifest<DiskIndexConfig> manifest = Manifest.read(directory, KIND, DiskIndexConfig.class);
    DiskIndexConfig config = manifest.config();
    FileEntry idsFile = manifest.file(IDS, directory);
    FileEntry pqFile = manifest.file(PQ, directory);
    FileEntry graphFile = manifest.file(GRAPH, directory);
    for (FileEntry file : List.of(idsFile, pqFile, graphFile)) {
      AtomicFiles.verify(directory, file);
    }
    String[] ids = readIds(directory.resolve(idsFile.name()), config.size());

    Path pqPath = directory.resolve(pqFile.name());
    PQVectors codes;
    try (ReaderSupplier supplier = ReaderSupplierFactory.open(pqPath); RandomAccessReader in = supplier.get()) {
      codes = PQVectors.load(in);
    } catch (IOException | RuntimeException e) {
      throw new CorruptIndexException(pqPath, "cannot parse: " + e, e);
    }
    if (codes.count() != config.size() || codes.getOriginalSize() != config.dimension() * Float.BYTES
        || codes.getCompressor().getSubspaceCount() != config.pqSubspaces()) {
      throw new CorruptIndexException(pqPath, "holds " + codes.count() + " codes of "
          + codes.getCompressor().getSubspaceCount() + " subspaces for dimension "
          + codes.getCompressor().getOriginalDimension() + "; manifest.json says " + config);
    }

    Path graphPath = directory.resolve(graphFile.name());
    ReaderSupplier graphReaders = ReaderSupplierFactory.open(graphPath);
    try {
      OnDiskGraphIndex graph = OnDiskGraphIndex.load(graphReaders);
      if (graph.size(0) != config.size() || graph.getIdUpperBound() != config.size()
          || graph.getDimension() != config.dimension()
          || !graph.getFeatureSet().contains(FeatureId.INLINE_VECTORS)) {
        throw new CorruptIndexException(graphPath, "holds " + graph.size(0) + " nodes of dimension "
            + graph.getDimension() + " with features " + graph.getFeatureSet() + "; manifest.json says "
            + config + " with INLINE_VECTORS");
      }
      return new DiskVectorIndex(config, ids, codes, graphReaders, graph);
    } catch (CorruptIndexException e) {
      graphReaders.close();
      throw e;
    } catch (IOException | RuntimeException e) {
      graphReaders.close();
      throw new CorruptIndexException(graphPath, "cannot parse: " + e, e);
    }
  }

  private static String[] readIds(Path file, int expected) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
      int magic = in.readInt();
      int version = in.readInt();
      int count = in.readInt();
      if (magic != IDS_MAGIC || version != IDS_VERSION || count != expected) {
        throw new CorruptIndexException(file, String.format(
            "header is %08x version %d with %d ids, expected %08x version %d with %d ids (manifest.json)",
            magic, version, count, IDS_MAGIC, IDS_VERSION, expected));
      }
      String[] ids = new String[count];
      for (int i = 0; i < count; i++) {
        int length = in.readInt();
        if (length < 1 || length > MAX_ID_BYTES) {
          throw new CorruptIndexException(file, "id " + i + " has length " + length);
        }
        ids[i] = new String(in.readNBytes(length), StandardCharsets.UTF_8);
      }
      if (in.read() != -1) {
        throw new CorruptIndexException(file, "has trailing bytes after " + count + " ids");
      }
      return ids;
    } catch (CorruptIndexException e) {
      throw e;
    } catch (IOException e) {
      throw new CorruptIndexException(file, "cannot parse: " + e, e);
    }
  }

  /**
   * Unmaps the graph file and releases the compressed codes. Idempotent; waits for running searches to finish.
   *
   * @throws UncheckedIOException if closing the graph file fails
   */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (!closed) {
        closed = true;
        try (ReaderSupplier readers = graphReaders; OnDiskGraphIndex g = graph) {
          searchers.close();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } catch (Exception e) {
          throw new IllegalStateException("closing the per-thread graph searchers failed", e);
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("this DiskVectorIndex is closed");
    }
  }

  /**
   * Configures and builds a {@link DiskVectorIndex}. Not thread-safe; each {@link #build} is independent.
   */
  public static final class Builder {
    private final int dimension;
    private int pqSubspaces;
    private int maxDegree = IndexConfig.DEFAULT_MAX_DEGREE;
    private int beamWidth = IndexConfig.DEFAULT_BEAM_WIDTH;
    private int searchBeamWidth = IndexConfig.DEFAULT_SEARCH_BEAM_WIDTH;

    private Builder(int dimension) {
      this.dimension = dimension;
      this.pqSubspaces = DiskIndexConfig.defaultPqSubspaces(dimension);
    }

    /**
     * Sets the number of product-quantization subspaces, which is also the size in bytes of a compressed
     * vector; default {@code dimension / 4} (96 for dimension 384). More subspaces make the graph walk's
     * scores more accurate (fewer candidates need re-ranking for the same recall) and cost heap and time per
     * score.
     *
     * @param pqSubspaces subspaces, in [1, dimension]
     * @return this builder
     * @throws IllegalArgumentException if {@code pqSubspaces} is out of range
     */
    public Builder pqSubspaces(int pqSubspaces) {
      this.pqSubspaces = DiskIndexConfig.checkPqSubspaces(pqSubspaces, dimension);
      return this;
    }

    /**
     * Sets the maximum number of neighbours per graph node; default 32. Higher raises recall, build time and
     * the graph file ({@code 4 * maxDegree} bytes per vector).
     *
     * @param maxDegree neighbours per node, in [2, 512]
     * @return this builder
     * @throws IllegalArgumentException if {@code maxDegree} is out of range
     */
    public Builder maxDegree(int maxDegree) {
      this.maxDegree = IndexConfig.checkMaxDegree(maxDegree);
      return this;
    }

    /**
     * Sets the candidate list size used while building the graph; default 100. Higher builds a better graph,
     * more slowly.
     *
     * @param beamWidth candidates per insert, in [1, 10000]
     * @return this builder
     * @throws IllegalArgumentException if {@code beamWidth} is out of range
     */
    public Builder beamWidth(int beamWidth) {
      this.beamWidth = IndexConfig.checkBeamWidth(beamWidth, "beamWidth");
      return this;
    }

    /**
     * Sets the default candidate list size of a search, every candidate of which is re-ranked on its full
     * vector (see {@link DiskVectorIndex#search(float[], int, int)}); default 100. Persisted with the index.
     *
     * @param searchBeamWidth candidates per search, in [1, 10000]
     * @return this builder
     * @throws IllegalArgumentException if {@code searchBeamWidth} is out of range
     */
    public Builder searchBeamWidth(int searchBeamWidth) {
      this.searchBeamWidth = IndexConfig.checkBeamWidth(searchBeamWidth, "searchBeamWidth");
      return this;
    }

    /**
     * Builds an index of {@code vectors[i]} under {@code ids.get(i)} into {@code directory} (created if
     * missing) and opens it. Builds the graph in parallel on the common fork-join pool, trains the quantizer on
     * a sample of the vectors, encodes them all, then writes a new generation of files and commits it by
     * atomically replacing {@code manifest.json}; files of older generations are deleted afterwards. If the
     * build fails or the process dies, the previously built index in {@code directory}, if any, stays intact.
     * The directory must not be built into by another instance or process at the same time.
     *
     * @param directory where to write the index
     * @param ids       the keys; not null, not blank, no id twice, at least one
     * @param vectors   {@code float[ids.size()][dimension]} with finite components; read, not copied, so they
     *                  must not change until this method returns
     * @return the new index, open (as by {@link DiskVectorIndex#open(Path)})
     * @throws NullPointerException     if an argument, an id or a vector is null
     * @throws IllegalArgumentException if the sizes differ or are zero, an id is blank or repeated, or a vector
     *                                  has the wrong dimension, a NaN or infinite component or an L2 norm over 1e19
     * @throws IOException              if writing or reopening fails
     */
    public DiskVectorIndex build(Path directory, List<String> ids, float[][] vectors) throws IOException {
      Objects.requireNonNull(directory, "directory must not be null");
      Objects.requireNonNull(ids, "ids must not be null");
      Objects.requireNonNull(vectors, "vectors must not be null");
      if (ids.size() != vectors.length) {
        throw new IllegalArgumentException("ids.size() is " + ids.size() + " but vectors.length is "
            + vectors.length + "; they must be equal");
      }
      if (vectors.length == 0) {
        throw new IllegalArgumentException("ids and vectors must not be empty");
      }
      Set<String> seen = new HashSet<>(ids.size() * 2);
      List<VectorFloat<?>> wrapped = new ArrayList<>(vectors.length);
      for (int i = 0; i < vectors.length; i++) {
        String id = Checks.id(ids.get(i), "ids[" + i + "]");
        if (!seen.add(id)) {
          throw new IllegalArgumentException(
              "ids[" + i + "] is \"" + id + "\", which occurs earlier; ids must be unique");
        }
        if (id.length() > MAX_ID_BYTES / 3 && id.getBytes(StandardCharsets.UTF_8).length > MAX_ID_BYTES) {
          throw new IllegalArgumentException("ids[" + i + "] is longer than " + MAX_ID_BYTES + " bytes in UTF-8");
        }
        // wrapped, not copied: read only while the index is written
        float[] vector = Checks.checked(vectors[i], dimension, "vectors[" + i + "]");
        wrapped.add(Checks.VECTORS.createFloatVector(vector));
      }
      DiskIndexConfig config = new DiskIndexConfig(dimension, vectors.length, pqSubspaces, maxDegree, beamWidth,
          searchBeamWidth);
      RandomAccessVectorValues values = new ListRandomAccessVectorValues(wrapped, dimension);
      Manifest.save(directory, KIND, config, generation -> write(directory, generation, ids, values, config));
      return open(directory);
    }

    private static Map<String, FileEntry> write(Path directory, long generation, List<String> ids,
        RandomAccessVectorValues values, DiskIndexConfig config) throws IOException {
      Map<String, FileEntry> files = new LinkedHashMap<>();
      String graphName = AtomicFiles.dataFileName(GRAPH, generation, "bin");
      BuildScoreProvider scores = BuildScoreProvider.randomAccessScoreProvider(values, SIMILARITY);
      try (GraphIndexBuilder builder = GraphIndexBuilder.builder(scores, config.dimension(), config.maxDegree())
          .withBeamWidth(config.beamWidth())
          .withNeighborOverflow(NEIGHBOR_OVERFLOW)
          .withAlpha(ALPHA)
          .build()) {
        ImmutableGraphIndex graph = builder.build(values);
        try (OnDiskGraphIndexWriter writer = new OnDiskGraphIndexWriter.Builder(graph,
            directory.resolve(graphName))
            .with(new InlineVectors(config.dimension()))
            .withMapper(new OrdinalMapper.IdentityMapper(config.size() - 1))
            .build()) {
          writer.write(Feature.singleStateFactory(FeatureId.INLINE_VECTORS,
              node -> new InlineVectors.State(values.getVector(node))));
        }
      }
      files.put(GRAPH, AtomicFiles.seal(directory, graphName));

      String pqName = AtomicFiles.dataFileName(PQ, generation, "bin");
      ProductQuantization pq = ProductQuantization.compute(values, config.pqSubspaces(),
          Math.min(PQ_CLUSTERS, config.size()), false); // not centred: jvector centres only for Euclidean
      PQVectors codes = (PQVectors) pq.encodeAll(values);
      try (BufferedRandomAccessWriter out = new BufferedRandomAccessWriter(directory.resolve(pqName))) {
        codes.write(out);
      }
      files.put(PQ, AtomicFiles.seal(directory, pqName));

      files.put(IDS, AtomicFiles.write(directory, AtomicFiles.dataFileName(IDS, generation, "bin"), out -> {
        out.writeInt(IDS_MAGIC);
        out.writeInt(IDS_VERSION);
        out.writeInt(ids.size());
        for (String id : ids) {
          byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
          out.writeInt(utf8.length);
          out.write(utf8);
        }
      }));
      return files;
    }
  }
}
