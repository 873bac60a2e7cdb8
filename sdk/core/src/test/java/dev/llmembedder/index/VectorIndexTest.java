package dev.llmembedder.index;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorIndexTest {
  private static final int DIMENSION = 64;

  private static List<String> ids(int count) {
    return IntStream.range(0, count).mapToObj(i -> "v" + i).collect(Collectors.toCollection(ArrayList::new));
  }

  private static VectorIndex index(SearchMode mode, int count, SyntheticEmbeddings embeddings) {
    VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(mode).build();
    index.addAll(ids(count), embeddings.next(count));
    return index;
  }

  /** Brute-force top-k in double precision: ids by score descending, ties by id. */
  private static List<String> bruteForce(List<String> ids, float[][] vectors, float[] query, int k) {
    return IntStream.range(0, ids.size()).boxed()
        .sorted(Comparator.<Integer>comparingDouble(i -> -SyntheticEmbeddings.dot(query, vectors[i]))
            .thenComparing(ids::get))
        .limit(k).map(ids::get).toList();
  }

  @Test
  void exactSearchMatchesBruteForceWithExactDotProductScores() {
    SyntheticEmbeddings embeddings = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 1);
    List<String> ids = ids(500);
    float[][] vectors = embeddings.next(500);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(SearchMode.EXACT).build()) {
      index.addAll(ids, vectors);
      for (int q = 0; q < 20; q++) {
        float[] query = embeddings.next();
        List<IndexHit> hits = index.search(query, 10);
        assertEquals(bruteForce(ids, vectors, query, 10), hits.stream().map(IndexHit::id).toList());
        for (IndexHit hit : hits) {
          assertEquals(SyntheticEmbeddings.dot(query, index.vector(hit.id())), hit.score(), 1e-5f);
        }
      }
    }
  }

  @Test
  void autoModeBelowThresholdIsExact() {
    SyntheticEmbeddings embeddings = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 2);
    try (VectorIndex auto = index(SearchMode.AUTO, 300, new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 3));
       VectorIndex exact = index(SearchMode.EXACT, 300, new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 3))) {
      for (int q = 0; q < 10; q++) {
        float[] query = embeddings.next();
        assertEquals(exact.search(query, 7), auto.search(query, 7));
      }
    }
  }

  @Test
  void graphScoresAreBitwiseTheExactScores() {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 4);
    float[][] vectors = data.next(1000);
    try (VectorIndex graph = VectorIndex.builder(DIMENSION).searchMode(SearchMode.GRAPH).build();
       VectorIndex exact = VectorIndex.builder(DIMENSION).searchMode(SearchMode.EXACT).build()) {
      graph.addAll(ids(1000), vectors);
      exact.addAll(ids(1000), vectors);
      for (int q = 0; q < 10; q++) {
        float[] query = data.next();
        for (IndexHit hit : graph.search(query, 5)) {
          float exactScore = exact.search(query, 1, hit.id()::equals).get(0).score();
          assertEquals(exactScore, hit.score(), 0f);
        }
      }
    }
  }

  @Test
  void kLargerThanSizeReturnsAllSortedAndTiesAreBrokenById() {
    float[] same = new float[DIMENSION];
    same[0] = 1;
    float[] other = new float[DIMENSION];
    other[1] = 1;
    for (SearchMode mode : SearchMode.values()) {
      try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(mode).build()) {
        index.add("c", same);
        index.add("a", same);
        index.add("z", other);
        index.add("b", same);
        List<IndexHit> hits = index.search(same, 10);
        assertEquals(List.of(new IndexHit("a", 1f), new IndexHit("b", 1f), new IndexHit("c", 1f),
            new IndexHit("z", 0f)), hits, mode.toString());
      }
    }
  }

  @Test
  void emptyIndexReturnsNoHits() {
    try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(SearchMode.GRAPH).build()) {
      assertEquals(List.of(), index.search(new float[DIMENSION], 3));
      assertEquals(0, index.size());
    }
  }

  @ParameterizedTest
  @EnumSource(SearchMode.class)
  void addReplacesTheVectorOfAnExistingId(SearchMode mode) {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 5);
    try (VectorIndex index = index(mode, 400, data)) {
      float[] replacement = data.next();
      index.add("v7", replacement);
      assertEquals(400, index.size());
      assertArrayEquals(replacement, index.vector("v7"));
      IndexHit top = index.search(replacement, 1).get(0);
      assertEquals("v7", top.id());
      assertEquals(SyntheticEmbeddings.dot(replacement, replacement), top.score(), 1e-5f);
    }
  }

  @ParameterizedTest
  @EnumSource(SearchMode.class)
  void deletedVectorsAreNeverReturned(SearchMode mode) {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 6);
    float[][] vectors = data.next(1000);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(mode).build()) {
      index.addAll(ids(1000), vectors);
      for (int i = 0; i < 300; i++) {
        assertTrue(index.delete("v" + i));
      }
      assertFalse(index.delete("v0"));
      assertFalse(index.delete("never-added"));
      assertEquals(700, index.size());
      assertFalse(index.contains("v0"));
      assertNull(index.vector("v0"));
      for (int i = 0; i < 300; i += 7) {
        for (IndexHit hit : index.search(vectors[i], 20)) {
          assertTrue(Integer.parseInt(hit.id().substring(1)) >= 300, hit.id() + " was deleted");
        }
      }
    }
  }

  @Test
  void churnThatTriggersCompactionKeepsResultsCorrect() {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 7);
    try (VectorIndex index = index(SearchMode.GRAPH, 300, data)) {
      float[][] latest = null;
      for (int round = 0; round < 4; round++) { // three rounds of upserts outnumber the live vectors
        latest = data.next(300);
        index.addAll(ids(300), latest);
      }
      index.add("extra", data.next());
      assertTrue(index.delete("extra"));
      assertEquals(300, index.size());
      for (int i = 0; i < 300; i += 10) {
        assertArrayEquals(latest[i], index.vector("v" + i));
        List<IndexHit> hits = index.search(latest[i], 1, ("v" + i)::equals);
        assertEquals("v" + i, hits.get(0).id());
        assertEquals(SyntheticEmbeddings.dot(latest[i], latest[i]), hits.get(0).score(), 1e-5f);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = SearchMode.class, names = {"GRAPH", "EXACT"})
  void filterIsAppliedDuringSearchSoKMatchingHitsComeBack(SearchMode mode) {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 8);
    float[][] vectors = data.next(2000);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(mode).build();
       VectorIndex exact = VectorIndex.builder(DIMENSION).searchMode(SearchMode.EXACT).build()) {
      index.addAll(ids(2000), vectors);
      exact.addAll(ids(2000), vectors);
      float[] query = data.next();

      List<IndexHit> tenPercent = index.search(query, 10, id -> id.endsWith("7"));
      assertEquals(10, tenPercent.size());
      assertTrue(tenPercent.stream().allMatch(hit -> hit.id().endsWith("7")));

      Set<String> fifteen = IntStream.range(0, 15).mapToObj(i -> "v" + (i * 131)).collect(Collectors.toSet());
      List<IndexHit> selective = index.search(query, 10, fifteen::contains);
      assertEquals(exact.search(query, 10, fifteen::contains), selective);

      Set<String> three = Set.of("v5", "v500", "v1999");
      assertEquals(three, index.search(query, 10, three::contains).stream().map(IndexHit::id)
          .collect(Collectors.toSet()));
      assertEquals(List.of(), index.search(query, 10, id -> false));
    }
  }

  @Test
  void autoModeSwitchesToTheGraphAtTheThreshold() {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 9);
    float[][] vectors = data.next(600);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).exactSearchThreshold(500).build()) {
      index.addAll(ids(400), java.util.Arrays.copyOf(vectors, 400));
      index.delete("v0");
      for (int i = 400; i < 600; i++) {
        index.add("v" + i, vectors[i]);
      }
      assertEquals(599, index.size());
      assertFalse(index.contains("v0"));
      for (int i = 1; i < 600; i += 50) {
        assertEquals("v" + i, index.search(vectors[i], 1, ("v" + i)::equals).get(0).id());
      }
    }
  }

  @Test
  void argumentChecksNameTheBadValue() {
    try (VectorIndex index = VectorIndex.builder(4).build()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> index.add("a", new float[3]));
      assertTrue(e.getMessage().contains("dimension 3") && e.getMessage().contains("dimension 4"),
          e.getMessage());

      e = assertThrows(IllegalArgumentException.class,
          () -> index.add("a", new float[] {0, 1, Float.NaN, 0}));
      assertTrue(e.getMessage().contains("vector[2]") && e.getMessage().contains("NaN"), e.getMessage());

      e = assertThrows(IllegalArgumentException.class,
          () -> index.search(new float[] {0, Float.NEGATIVE_INFINITY, 0, 0}, 1));
      assertTrue(e.getMessage().contains("query[1]") && e.getMessage().contains("-Infinity"),
          e.getMessage());

      for (int k : new int[] {0, -3}) {
        e = assertThrows(IllegalArgumentException.class, () -> index.search(new float[4], k));
        assertTrue(e.getMessage().contains("got: " + k), e.getMessage());
      }

      NullPointerException npe = assertThrows(NullPointerException.class, () -> index.add(null, new float[4]));
      assertTrue(npe.getMessage().contains("id must not be null"), npe.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> index.add(" \t", new float[4]));
      assertTrue(e.getMessage().contains("\" \t\""), e.getMessage());

      e = assertThrows(IllegalArgumentException.class,
          () -> index.addAll(List.of("x", "y", "x"), new float[3][4]));
      assertTrue(e.getMessage().contains("\"x\"") && e.getMessage().contains("ids[2]"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> index.addAll(List.of("x"), new float[2][4]));
      assertTrue(e.getMessage().contains("1") && e.getMessage().contains("2"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class,
          () -> index.addAll(List.of("x", "y"), new float[][] {new float[4], new float[5]}));
      assertTrue(e.getMessage().contains("vectors[1]") && e.getMessage().contains("dimension 5"),
          e.getMessage());
      assertEquals(0, index.size(), "a rejected batch adds nothing");

      assertThrows(NullPointerException.class, () -> index.search(new float[4], 1, null));
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorIndex.builder(0));
    assertTrue(e.getMessage().contains("got: 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> VectorIndex.builder(8).maxDegree(1));
    assertTrue(e.getMessage().contains("maxDegree") && e.getMessage().contains("got: 1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> VectorIndex.builder(8).searchBeamWidth(0));
    assertTrue(e.getMessage().contains("searchBeamWidth") && e.getMessage().contains("got: 0"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> VectorIndex.builder(8).exactSearchThreshold(-1));
    assertTrue(e.getMessage().contains("got: -1"), e.getMessage());
  }

  @Test
  void vectorReturnsACopyAndAddCopiesItsArgument() {
    try (VectorIndex index = VectorIndex.builder(2).build()) {
      float[] v = {1, 0};
      index.add("a", v);
      v[0] = 5;
      float[] stored = index.vector("a");
      assertArrayEquals(new float[] {1, 0}, stored);
      stored[1] = 7;
      assertArrayEquals(new float[] {1, 0}, index.vector("a"));
    }
  }

  @Test
  void methodsThrowAfterClose() {
    VectorIndex index = VectorIndex.builder(2).build();
    index.add("a", new float[] {1, 0});
    index.close();
    assertDoesNotThrow(index::close);
    assertThrows(IllegalStateException.class, () -> index.add("b", new float[] {0, 1}));
    assertThrows(IllegalStateException.class, () -> index.search(new float[] {0, 1}, 1));
    assertThrows(IllegalStateException.class, index::size);
    assertThrows(IllegalStateException.class, index::dimension);
    assertThrows(IllegalStateException.class, () -> index.contains("a"));
    assertThrows(IllegalStateException.class, () -> index.delete("a"));
    assertThrows(IllegalStateException.class, () -> index.save(java.nio.file.Path.of("unused")));
  }
}
