package dev.llmembedder.index;

import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.OnHeapGraphIndex;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorIndexPersistenceTest {
  private static final int DIMENSION = 64;

  @TempDir
  Path directory;

  private static List<String> ids(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "v" + i).collect(Collectors.toCollection(ArrayList::new));
  }

  /** An index with dead slots (deletes and replacements) so that persistence must keep them consistent. */
  private static VectorIndex churnedIndex(SearchMode mode, SyntheticEmbeddings data) {
    VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(mode).build();
    index.addAll(ids(0, 1500), data.next(1500));
    for (int i = 0; i < 1500; i += 9) {
      index.delete("v" + i);
    }
    index.addAll(ids(1, 100), data.next(99));
    index.add("naïve-日本語-id", data.next());
    return index;
  }

  private static List<List<IndexHit>> results(VectorIndex index, float[][] queries) {
    List<List<IndexHit>> results = new ArrayList<>();
    for (float[] query : queries) {
      results.add(index.search(query, 10));
      results.add(index.search(query, 5, id -> id.endsWith("3")));
    }
    return results;
  }

  private Set<String> files() throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  @ParameterizedTest
  @EnumSource(SearchMode.class)
  void openedIndexReturnsIdenticalResults(SearchMode mode) throws IOException {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 11);
    float[][] queries = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 12).next(30);
    try (VectorIndex saved = churnedIndex(mode, data)) {
      List<List<IndexHit>> before = results(saved, queries);
      saved.save(directory);
      assertEquals(mode == SearchMode.GRAPH
              ? Set.of("manifest.json", "vectors-1.bin", "graph-1.bin")
              : Set.of("manifest.json", "vectors-1.bin"), files());
      try (VectorIndex opened = VectorIndex.open(directory)) {
        assertEquals(saved.size(), opened.size());
        assertEquals(DIMENSION, opened.dimension());
        assertFalse(opened.contains("v0"));
        assertArrayEquals(saved.vector("v50"), opened.vector("v50"));
        assertArrayEquals(saved.vector("naïve-日本語-id"), opened.vector("naïve-日本語-id"));
        assertEquals(before, results(opened, queries));

        // the opened index keeps working and saves a new generation, deleting the old one
        opened.add("new", data.next());
        opened.delete("v1");
        List<List<IndexHit>> changed = results(opened, queries);
        opened.save(directory);
        assertTrue(files().containsAll(Set.of("manifest.json", "vectors-2.bin")), files().toString());
        assertFalse(files().contains("vectors-1.bin"));
        try (VectorIndex reopened = VectorIndex.open(directory)) {
          assertEquals(changed, results(reopened, queries));
        }
      }
    }
  }

  @Test
  void autoIndexSavesItsGraphOnceItHasOne() throws IOException {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 13);
    float[][] queries = data.next(10);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).exactSearchThreshold(1000).build()) {
      index.addAll(ids(0, 1200), data.next(1200));
      List<List<IndexHit>> before = results(index, queries);
      index.save(directory);
      assertTrue(files().contains("graph-1.bin"));
      try (VectorIndex opened = VectorIndex.open(directory)) {
        assertEquals(before, results(opened, queries));
      }
    }
  }

  @Test
  void emptyIndexRoundTrips() throws IOException {
    try (VectorIndex index = VectorIndex.builder(3).searchMode(SearchMode.GRAPH).maxDegree(8).build()) {
      index.save(directory.resolve("nested/dir"));
    }
    try (VectorIndex opened = VectorIndex.open(directory.resolve("nested/dir"))) {
      assertEquals(0, opened.size());
      opened.add("a", new float[] {1, 0, 0});
      assertEquals("a", opened.search(new float[] {1, 0, 0}, 1).get(0).id());
    }
  }

  @Test
  void smallGraphKeepsGrowingAfterReopen() throws IOException {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 17);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(SearchMode.GRAPH).build()) {
      index.add("gone", data.next());
      index.delete("gone"); // compacts to an empty graph
      index.save(directory);
    }
    float[][] vectors = data.next(400);
    try (VectorIndex opened = VectorIndex.open(directory)) {
      opened.add("v0", vectors[0]);
      opened.addAll(ids(1, 400), java.util.Arrays.copyOfRange(vectors, 1, 400));
      assertEquals(400, opened.size());
      assertEquals(10, opened.search(vectors[7], 10).size());
      assertEquals("v7", opened.search(vectors[7], 1, "v7"::equals).get(0).id());
    }
  }

  /** The graph file is byte for byte what jvector's own OnHeapGraphIndex.save writes for the same graph. */
  @Test
  @SuppressWarnings("deprecation")
  void graphFileUsesJVectorsOnHeapLayout() throws IOException {
    VectorStore store = new VectorStore(DIMENSION);
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 14);
    for (int i = 0; i < 500; i++) {
      store.append("v" + i, Checks.VECTORS.createFloatVector(data.next()));
    }
    BuildScoreProvider scores = BuildScoreProvider.randomAccessScoreProvider(store,
        VectorSimilarityFunction.DOT_PRODUCT);
    try (GraphIndexBuilder builder = GraphIndexBuilder.builder(scores, DIMENSION, 16)
        .withBeamWidth(50).withNeighborOverflow(1.2f).withAlpha(1.2f).build()) {
      OnHeapGraphIndex graph = (OnHeapGraphIndex) builder.build(store); // build() freezes, as save() wants
      ByteArrayOutputStream ours = new ByteArrayOutputStream();
      JVectorGraph.write(graph, scores, new DataOutputStream(ours));
      ByteArrayOutputStream theirs = new ByteArrayOutputStream();
      graph.save(new DataOutputStream(theirs));
      assertTrue(graph.getMaxLevel() > 0, "the test graph should be hierarchical");
      assertArrayEquals(theirs.toByteArray(), ours.toByteArray());
    }
  }

  private void saveGraphIndex() throws IOException {
    try (VectorIndex index = churnedIndex(SearchMode.GRAPH, new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 15))) {
      index.save(directory);
    }
  }

  private void assertCorrupt(String fileName) {
    CorruptIndexException e = assertThrows(CorruptIndexException.class, () -> VectorIndex.open(directory));
    assertTrue(e.getMessage().contains(fileName), e.getMessage());
    assertEquals(directory.resolve(fileName), e.file());
  }

  @Test
  void truncatedVectorsFileIsDetected() throws IOException {
    saveGraphIndex();
    Path file = directory.resolve("vectors-1.bin");
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
    assertCorrupt("vectors-1.bin");
  }

  @Test
  void flippedBitInGraphFileIsDetected() throws IOException {
    saveGraphIndex();
    Path file = directory.resolve("graph-1.bin");
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(file, bytes);
    assertCorrupt("graph-1.bin");
  }

  @Test
  void missingDataFileIsDetected() throws IOException {
    saveGraphIndex();
    Files.delete(directory.resolve("graph-1.bin"));
    assertCorrupt("graph-1.bin");
  }

  @Test
  void unparsableManifestIsDetected() throws IOException {
    saveGraphIndex();
    Files.writeString(directory.resolve("manifest.json"), "{\"formatVersion\": 1, \"kind\": ");
    assertCorrupt("manifest.json");
  }

  @Test
  void directoryWithoutIndexIsReported() throws IOException {
    assertThrows(NoSuchFileException.class, () -> VectorIndex.open(directory));
    try (DocumentIndex documents = DocumentIndex.create(2)) {
      documents.save(directory);
    }
    IOException e = assertThrows(IOException.class, () -> VectorIndex.open(directory));
    assertTrue(e.getMessage().contains("document-index"), e.getMessage());
  }

  /**
   * A save that crashed after writing its data files, or halfway through its manifest, leaves files of a
   * newer generation that no manifest points to: open ignores them and the next save removes them.
   */
  @Test
  void crashDuringSaveLeavesThePreviousVersionReadable() throws IOException {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 16);
    float[][] queries = data.next(10);
    try (VectorIndex index = churnedIndex(SearchMode.GRAPH, data)) {
      index.save(directory);
      List<List<IndexHit>> committed = results(index, queries);
      String committedManifest = Files.readString(directory.resolve("manifest.json"));

      index.addAll(ids(5000, 5100), data.next(100));
      index.writeFiles(directory, 2); // the crashed save's complete data files ...
      Files.write(directory.resolve("vectors-3.bin"), new byte[] {1, 2, 3}); // ... a torn one ...
      Files.writeString(directory.resolve("manifest.json.tmp"), // ... and a torn manifest
          committedManifest.substring(0, committedManifest.length() / 2), StandardCharsets.UTF_8);

      try (VectorIndex opened = VectorIndex.open(directory)) {
        assertEquals(committed, results(opened, queries));
        assertFalse(opened.contains("v5000"));
      }

      index.save(directory);
      assertEquals(Set.of("manifest.json", "vectors-4.bin", "graph-4.bin"), files());
      try (VectorIndex opened = VectorIndex.open(directory)) {
        assertEquals(results(index, queries), results(opened, queries));
        assertTrue(opened.contains("v5000"));
      }
    }
  }

  @Test
  void saveLeavesForeignFilesAlone() throws IOException {
    Files.writeString(directory.resolve("README.txt"), "mine");
    Files.writeString(directory.resolve("notes-1.txt"), "mine too");
    try (VectorIndex index = VectorIndex.builder(2).build()) {
      index.add("a", new float[] {1, 0});
      index.save(directory);
      index.save(directory);
    }
    assertEquals(Set.of("README.txt", "notes-1.txt", "manifest.json", "vectors-2.bin"), files());
  }
}
