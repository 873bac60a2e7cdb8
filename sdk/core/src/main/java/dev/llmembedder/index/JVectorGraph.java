package dev.llmembedder.index;

import io.github.jbellis.jvector.disk.ByteBufferReader;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.ImmutableGraphIndex;
import io.github.jbellis.jvector.graph.NodesIterator;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.diversity.VamanaDiversityProvider;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.ScoreFunction;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorUtil;
import io.github.jbellis.jvector.vector.types.VectorFloat;

import java.io.DataOutput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.stream.IntStream;

/**
 * The jvector proximity graph over every slot of a {@link VectorStore} (node id = slot ordinal), maintained
 * incrementally: new slots are inserted with {@link GraphIndexBuilder#addGraphNode} (in parallel for batches),
 * dead slots are marked deleted and stay in the graph for routing until the owning index compacts and
 * rebuilds. The graph is never frozen with {@code cleanup()}, so it stays open for concurrent inserts.
 *
 * <p>The build similarity is jvector's {@code DOT_PRODUCT}; searches score with the plain dot product
 * ({@link VectorUtil#dotProduct}), so result scores are exact.
 *
 * <p>Persistence uses jvector's on-heap graph layout, version 4 (the layout of
 * {@link OnHeapGraphIndex#save}, read back by {@link OnHeapGraphIndex#load}), written here from the public
 * graph view because {@code save} insists on a graph frozen by {@code cleanup()}.
 *
 * <p>Not thread-safe for writes: {@link VectorIndex} serialises inserts and deletes and excludes searches
 * while they run; concurrent searches are safe.
 */
final class JVectorGraph implements AutoCloseable {
  private static final float NEIGHBOR_OVERFLOW = 1.2f;
  private static final float ALPHA = 1.2f;
  private static final int GRAPH_FORMAT_VERSION = 4;

  private final VectorStore vectors;
  private final BuildScoreProvider scoreProvider;
  private final GraphIndexBuilder builder;

  private JVectorGraph(VectorStore vectors, BuildScoreProvider scoreProvider, GraphIndexBuilder builder) {
    this.vectors = vectors;
    this.scoreProvider = scoreProvider;
    this.builder = builder;
  }

  /** Builds a graph over every slot of {@code vectors}, which must hold no dead slots. */
  static JVectorGraph build(VectorStore vectors, IndexConfig config) {
    assert vectors.deadCount() == 0 : vectors.deadCount() + " dead slots";
    BuildScoreProvider scoreProvider = scoreProvider(vectors);
    GraphIndexBuilder builder = GraphIndexBuilder.builder(scoreProvider, vectors.dimension(), config.maxDegree())
        .withBeamWidth(config.beamWidth())
        .withNeighborOverflow(NEIGHBOR_OVERFLOW)
        .withAlpha(ALPHA)
        .build();
    JVectorGraph graph = new JVectorGraph(vectors, scoreProvider, builder);
    graph.insert(0, vectors.slotCount());
    return graph;
  }

  /**
   * Loads a graph written by {@link #writeTo} over {@code vectors}, marking dead slots deleted again.
   * jvector's loader restores the adjacency lists and the entry node verbatim, so searches return exactly
   * what they returned before the save. A graph saved with a single layer (small graphs usually have one)
   * loads as non-hierarchical and later inserts stay in that layer; the next compaction rebuilds it.
   */
  @SuppressWarnings("deprecation") // jvector 4.0.2's only loader for a mutable graph; it is marked deprecated
  static JVectorGraph read(ByteBuffer data, VectorStore vectors, IndexConfig config) throws IOException {
    checkLayout(data.duplicate(), vectors.slotCount());
    BuildScoreProvider scoreProvider = scoreProvider(vectors);
    OnHeapGraphIndex graph = OnHeapGraphIndex.load(new ByteBufferReader(data), vectors.dimension(),
        NEIGHBOR_OVERFLOW, new VamanaDiversityProvider(scoreProvider, ALPHA));
    if (data.hasRemaining() || graph.size(0) != vectors.slotCount()
        || graph.getIdUpperBound() != vectors.slotCount()) {
      throw new IOException("graph holds " + graph.size(0) + " nodes below id " + graph.getIdUpperBound()
          + " with " + data.remaining() + " trailing bytes; expected one node per vector slot ("
          + vectors.slotCount() + ")");
    }
    GraphIndexBuilder builder = GraphIndexBuilder.builder(scoreProvider, vectors.dimension(), graph)
        .withBeamWidth(config.beamWidth())
        .withNeighborOverflow(NEIGHBOR_OVERFLOW)
        .withAlpha(ALPHA)
        .build();
    for (int ordinal = 0; ordinal < vectors.slotCount(); ordinal++) {
      if (!vectors.isLive(ordinal)) {
        builder.markNodeDeleted(ordinal);
      }
    }
    return new JVectorGraph(vectors, scoreProvider, builder);
  }

  /**
   * Checks what jvector's loader takes on trust (it only asserts some of it, and only with {@code -ea}): the layout
   * {@link #write} produces, node and neighbour ids below {@code slots}, no node twice in a layer, finite scores in
   * non-increasing order. Without this, a graph file damaged behind a valid checksum could load and fail or return
   * wrong neighbours later, at search time (found by {@code FileReaderFuzzTest}).
   */
  private static void checkLayout(ByteBuffer in, int slots) throws IOException {
    if (readInt(in) != OnHeapGraphIndex.MAGIC) {
      throw new IOException("not a jvector on-heap graph (wrong magic number)");
    }
    int version = readInt(in);
    if (version != GRAPH_FORMAT_VERSION) {
      throw new IOException("graph layout version " + version + "; expected " + GRAPH_FORMAT_VERSION);
    }
    int layers = readInt(in);
    if (layers < 1 || layers > 64) {
      throw new IOException(layers + " layers; expected 1 to 64");
    }
    for (int level = 0; level < layers; level++) {
      int degree = readInt(in);
      if (degree < 1) {
        throw new IOException("layer " + level + " has degree " + degree + "; expected at least 1");
      }
    }
    int entry = readInt(in);
    if (entry != ImmutableGraphIndex.ENTRY_NODE_ABSENT && (entry < 0 || entry >= slots)) {
      throw new IOException("entry node " + entry + " is not below the " + slots + " vector slots");
    }
    for (int level = 0; level < layers; level++) {
      int size = readInt(in);
      if (size < 0 || size > slots) {
        throw new IOException("layer " + level + " holds " + size + " nodes; expected 0 to " + slots);
      }
      java.util.BitSet seen = new java.util.BitSet(slots);
      for (int i = 0; i < size; i++) {
        int node = readInt(in);
        if (node < 0 || node >= slots || seen.get(node)) {
          throw new IOException("layer " + level + " lists node " + node + (node >= 0 && node < slots
              ? " twice" : ", which is not below the " + slots + " vector slots"));
        }
        seen.set(node);
        int count = readInt(in);
        if (count < 0 || count > slots) {
          throw new IOException("node " + node + " has " + count + " neighbours; expected 0 to " + slots);
        }
        float previous = Float.POSITIVE_INFINITY;
        for (int j = 0; j < count; j++) {
          int neighbour = readInt(in);
          if (in.remaining() < Float.BYTES) {
            throw new IOException("graph data ends inside node " + node);
          }
          float score = in.getFloat();
          if (neighbour < 0 || neighbour >= slots || !Float.isFinite(score) || score > previous) {
            throw new IOException("node " + node + " of layer " + level + " has neighbour " + neighbour
                + " with score " + score + "; expected an id below " + slots + " and finite scores, best first");
          }
          previous = score;
        }
      }
    }
  }

  private static int readInt(ByteBuffer in) throws IOException {
    if (in.remaining() < Integer.BYTES) {
      throw new IOException("graph data ends after " + in.position() + " bytes");
    }
    return in.getInt();
  }

  private static BuildScoreProvider scoreProvider(VectorStore vectors) {
    return BuildScoreProvider.randomAccessScoreProvider(vectors, VectorSimilarityFunction.DOT_PRODUCT);
  }

  /** Inserts the slots {@code [from, to)} of the store, in parallel when there is more than one. */
  void insert(int from, int to) {
    if (to - from == 1) {
      builder.addGraphNode(from, vectors.getVector(from));
    } else {
      IntStream.range(from, to).parallel().forEach(o -> builder.addGraphNode(o, vectors.getVector(o)));
    }
  }

  /** Excludes {@code ordinal} from results and from the neighbours of later inserts; it still routes. */
  void markDeleted(int ordinal) {
    builder.markNodeDeleted(ordinal);
  }

  /**
   * Returns up to {@code topK} accepted nodes nearest to {@code query}, best first, scored by exact dot
   * product, after a beam search keeping {@code beamWidth >= topK} candidates.
   */
  SearchResult.NodeScore[] search(VectorFloat<?> query, int topK, int beamWidth, Bits accept) {
    ScoreFunction.ExactScoreFunction dot = node -> VectorUtil.dotProduct(query, vectors.getVector(node));
    try (GraphSearcher searcher = new GraphSearcher(builder.getGraph())) {
      return searcher.search(new DefaultSearchScoreProvider(dot), topK, beamWidth,
          Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, accept).getNodes();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // GraphSearcher.close() closes an on-heap view: no I/O
    }
  }

  void writeTo(DataOutput out) throws IOException {
    write(builder.getGraph(), scoreProvider, out);
  }

  /**
   * Writes {@code graph} in jvector's on-heap layout version 4: magic, version, layer count, degree per
   * layer, entry node (-1 if none), then per layer its size and per node the id, neighbour count and
   * (neighbour, score) pairs in stored order. Scores are recomputed with {@code scoreProvider}, the
   * function that produced the stored ones.
   */
  static void write(ImmutableGraphIndex graph, BuildScoreProvider scoreProvider, DataOutput out)
      throws IOException {
    ImmutableGraphIndex.View view = graph.getView();
    int layers = graph.getMaxLevel() + 1;
    out.writeInt(OnHeapGraphIndex.MAGIC);
    out.writeInt(GRAPH_FORMAT_VERSION);
    out.writeInt(layers);
    for (int level = 0; level < layers; level++) {
      out.writeInt(graph.getDegree(level));
    }
    ImmutableGraphIndex.NodeAtLevel entry = view.entryNode();
    out.writeInt(entry == null ? ImmutableGraphIndex.ENTRY_NODE_ABSENT : entry.node);
    for (int level = 0; level < layers; level++) {
      out.writeInt(graph.size(level));
      for (NodesIterator nodes = graph.getNodes(level); nodes.hasNext(); ) {
        int node = nodes.nextInt();
        ScoreFunction score = scoreProvider.searchProviderFor(node).scoreFunction();
        NodesIterator neighbours = view.getNeighborsIterator(level, node);
        out.writeInt(node);
        out.writeInt(neighbours.size());
        while (neighbours.hasNext()) {
          int neighbour = neighbours.nextInt();
          out.writeInt(neighbour);
          out.writeFloat(score.similarityTo(neighbour));
        }
      }
    }
  }

  @Override
  public void close() {
    try {
      builder.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // closes per-thread searchers over an on-heap graph: no I/O
    }
  }
}
