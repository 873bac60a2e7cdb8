package dev.llmembedder.index;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiskVectorIndexTest {
  private static final int DIMENSION = 64;
  private static final int SIZE = 3000;
  private static float[][] vectors;
  private static float[][] queries;
  private static List<String> ids;
  /** Results of the index as built, before any reopening. */
  private static List<List<IndexHit>> builtResults;

  /** One index built for the whole class (building is the slow part); tests that damage it work on a copy. */
  @TempDir
  static Path built;

  @TempDir
  Path directory;

  @BeforeAll
  static void buildOnce() throws IOException {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 7);
    vectors = data.next(SIZE);
    queries = data.next(50);
    ids = ids(SIZE);
    try (DiskVectorIndex index = DiskVectorIndex.builder(DIMENSION).pqSubspaces(16).build(built, ids, vectors)) {
      builtResults = results(index);
    }
  }

  private static List<String> ids(int count) {
    return IntStream.range(0, count).mapToObj(i -> "v" + i).collect(Collectors.toCollection(ArrayList::new));
  }

  /** Copies the class's built index into {@code directory}. */
  private void copyBuilt() throws IOException {
    try (Stream<Path> files = Files.list(built)) {
      for (Path file : files.toList()) {
        Files.copy(file, directory.resolve(file.getFileName()));
      }
    }
  }

  private static List<List<IndexHit>> results(DiskVectorIndex index) {
    List<List<IndexHit>> results = new ArrayList<>();
    for (float[] query : queries) {
      results.add(index.search(query, 10));
    }
    return results;
  }

  private Set<String> files() throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  @Test
  void recallAt10AgainstExactSearchIsHighAndScoresAreExact() throws IOException {
    int found = 0;
    try (DiskVectorIndex index = DiskVectorIndex.open(built);
       VectorIndex exact = VectorIndex.builder(DIMENSION).searchMode(SearchMode.EXACT).build()) {
      exact.addAll(ids, vectors);
      for (float[] query : queries) {
        List<IndexHit> hits = index.search(query, 10);
        assertEquals(10, hits.size());
        Set<String> truth = exact.search(query, 10).stream().map(IndexHit::id).collect(Collectors.toSet());
        for (IndexHit hit : hits) {
          found += truth.contains(hit.id()) ? 1 : 0;
          int ordinal = Integer.parseInt(hit.id().substring(1));
          assertEquals(SyntheticEmbeddings.dot(query, vectors[ordinal]), hit.score(), 1e-5f);
        }
        for (int i = 1; i < hits.size(); i++) {
          assertTrue(IndexHit.ORDER.compare(hits.get(i - 1), hits.get(i)) < 0, hits.toString());
        }
      }
    }
    double recall = found / (10.0 * queries.length);
    assertTrue(recall >= 0.95, "recall@10 " + recall + " is below 0.95");
  }

  @Test
  void reopenedIndexReturnsIdenticalResults() throws IOException {
    copyBuilt();
    assertEquals(Set.of("manifest.json", "graph-1.bin", "pq-1.bin", "ids-1.bin"), files());
    try (DiskVectorIndex opened = DiskVectorIndex.open(directory)) {
      assertEquals(SIZE, opened.size());
      assertEquals(DIMENSION, opened.dimension());
      assertEquals(builtResults, results(opened));
      assertEquals(new DiskIndexConfig(DIMENSION, SIZE, 16, 32, 100, 100), opened.config());
    }
  }

  @Test
  void rebuildReplacesThePreviousGenerationAndFewerVectorsThanPqClustersWork() throws IOException {
    copyBuilt();
    float[][] few = {vectors[0], vectors[1], vectors[2]};
    try (DiskVectorIndex index = DiskVectorIndex.builder(DIMENSION).build(directory, List.of("a", "b", "c"), few)) {
      List<IndexHit> hits = index.search(vectors[1], 10);
      assertEquals(3, hits.size());
      assertEquals("b", hits.get(0).id());
    }
    assertEquals(Set.of("manifest.json", "graph-2.bin", "pq-2.bin", "ids-2.bin"), files());
  }

  @Test
  void concurrentSearchesReturnWhatSingleThreadedSearchesReturn() throws Exception {
    try (DiskVectorIndex index = DiskVectorIndex.open(built)) {
      List<List<IndexHit>> expected = results(index);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<List<List<IndexHit>>>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          futures.add(pool.submit(() -> results(index)));
        }
        for (Future<List<List<IndexHit>>> future : futures) {
          assertEquals(expected, future.get());
        }
      } finally {
        pool.shutdown();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph-1.bin", "pq-1.bin", "ids-1.bin"})
  void flippedBitIsDetectedAndNamesTheFile(String name) throws IOException {
    copyBuilt();
    Path file = directory.resolve(name);
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(file, bytes);
    CorruptIndexException e = assertThrows(CorruptIndexException.class, () -> DiskVectorIndex.open(directory));
    assertEquals(file, e.file());
    assertTrue(e.getMessage().contains(name), e.getMessage());
  }

  @Test
  void missingOrTruncatedFilesAreDetected() throws IOException {
    copyBuilt();
    Path pq = directory.resolve("pq-1.bin");
    byte[] bytes = Files.readAllBytes(pq);
    Files.write(pq, java.util.Arrays.copyOf(bytes, bytes.length - 1));
    assertEquals(pq, assertThrows(CorruptIndexException.class, () -> DiskVectorIndex.open(directory)).file());
    Files.delete(directory.resolve("graph-1.bin"));
    Files.write(pq, bytes);
    assertEquals(directory.resolve("graph-1.bin"),
        assertThrows(CorruptIndexException.class, () -> DiskVectorIndex.open(directory)).file());
  }

  @Test
  void otherKindsOfIndexAreRefusedBothWays() throws IOException {
    copyBuilt();
    IOException e = assertThrows(IOException.class, () -> VectorIndex.open(directory));
    assertTrue(e.getMessage().contains("disk-vector-index"), e.getMessage());
    Path other = directory.resolve("other");
    try (VectorIndex index = VectorIndex.builder(DIMENSION).build()) {
      index.add("x", vectors[0]);
      index.save(other);
    }
    e = assertThrows(IOException.class, () -> DiskVectorIndex.open(other));
    assertTrue(e.getMessage().contains("holds a vector-index"), e.getMessage());
  }

  @Test
  void badSearchArgumentsAreRejectedWithTheirValues() throws IOException {
    try (DiskVectorIndex index = DiskVectorIndex.open(built)) {
      float[] query = queries[0];
      assertMessage("k must be positive, got: 0", () -> index.search(query, 0));
      assertMessage("query has dimension 3, expected dimension 64", () -> index.search(new float[3], 10));
      float[] nan = query.clone();
      nan[5] = Float.NaN;
      assertMessage("query[5] is NaN; every component must be finite", () -> index.search(nan, 10));
      assertMessage("searchBeamWidth must be in [1, 10000], got: 0", () -> index.search(query, 10, 0));
      assertThrows(NullPointerException.class, () -> index.search(null, 10));
      index.close();
      assertThrows(IllegalStateException.class, () -> index.search(query, 10));
      index.close(); // idempotent
    }
  }

  @Test
  void badBuildArgumentsAreRejectedBeforeAnythingIsWritten() throws IOException {
    DiskVectorIndex.Builder builder = DiskVectorIndex.builder(DIMENSION);
    float[] v = vectors[0];
    assertMessage("ids[1] is \"a\", which occurs earlier; ids must be unique",
        () -> builder.build(directory, List.of("a", "a"), new float[][] {v, v}));
    assertMessage("vectors[1] has dimension 2, expected dimension 64",
        () -> builder.build(directory, List.of("a", "b"), new float[][] {v, new float[2]}));
    float[] infinite = v.clone();
    infinite[0] = Float.POSITIVE_INFINITY;
    assertMessage("vectors[0][0] is Infinity; every component must be finite",
        () -> builder.build(directory, List.of("a"), new float[][] {infinite}));
    assertMessage("ids.size() is 1 but vectors.length is 2; they must be equal",
        () -> builder.build(directory, List.of("a"), new float[][] {v, v}));
    assertMessage("ids and vectors must not be empty", () -> builder.build(directory, List.of(), new float[0][]));
    assertMessage("ids[0] must not be blank, got: \" \"",
        () -> builder.build(directory, List.of(" "), new float[][] {v}));
    assertMessage("pqSubspaces must be in [1, dimension = 64], got: 65", () -> builder.pqSubspaces(65));
    assertMessage("maxDegree must be in [2, 512], got: 1", () -> builder.maxDegree(1));
    assertMessage("dimension must be at least 1, got: 0", () -> DiskVectorIndex.builder(0));
    assertEquals(Set.of(), files());
  }

  private static void assertMessage(String message, org.junit.jupiter.api.function.Executable call) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
  }
}
