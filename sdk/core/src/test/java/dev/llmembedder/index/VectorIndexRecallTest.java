package dev.llmembedder.index;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorIndexRecallTest {
  private static final int DIMENSION = 384;
  private static final int SIZE = 20_000;
  private static final int QUERIES = 200;
  private static final int K = 10;

  @Test
  void graphRecallAt10AgainstExactSearchIsAtLeast95Percent() {
    SyntheticEmbeddings embeddings = new SyntheticEmbeddings(DIMENSION, 32, 0.05f, 42);
    float[][] vectors = embeddings.next(SIZE);
    float[][] queries = embeddings.next(QUERIES);
    List<String> ids = new ArrayList<>(SIZE);
    for (int i = 0; i < SIZE; i++) {
      ids.add("v" + i);
    }
    try (VectorIndex graph = VectorIndex.builder(DIMENSION).searchMode(SearchMode.GRAPH).build();
       VectorIndex exact = VectorIndex.builder(DIMENSION).searchMode(SearchMode.EXACT).build()) {
      long start = System.nanoTime();
      graph.addAll(ids, vectors);
      long buildNanos = System.nanoTime() - start;
      exact.addAll(ids, vectors);

      int found = 0;
      long graphNanos = 0;
      long exactNanos = 0;
      for (float[] query : queries) {
        long t0 = System.nanoTime();
        List<IndexHit> approximate = graph.search(query, K);
        long t1 = System.nanoTime();
        List<IndexHit> truth = exact.search(query, K);
        long t2 = System.nanoTime();
        graphNanos += t1 - t0;
        exactNanos += t2 - t1;
        assertEquals(K, approximate.size());
        Set<String> truthIds = new HashSet<>();
        truth.forEach(hit -> truthIds.add(hit.id()));
        for (IndexHit hit : approximate) {
          if (truthIds.contains(hit.id())) {
            found++;
          }
          assertEquals(SyntheticEmbeddings.dot(query, graph.vector(hit.id())), hit.score(), 1e-5f);
        }
      }
      double recall = (double) found / (QUERIES * K);
      System.out.printf("recall@%d graph vs exact: %.4f (n=%d, dim=%d, %d queries); parallel build %.1f s; "
              + "mean search: graph %.3f ms, exact %.3f ms%n",
          K, recall, SIZE, DIMENSION, QUERIES, buildNanos / 1e9,
          graphNanos / 1e6 / QUERIES, exactNanos / 1e6 / QUERIES);
      assertTrue(recall >= 0.95, "recall@10 " + recall + " is below 0.95");
    }
  }
}
