package dev.llmembedder.index;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorIndexConcurrencyTest {
  private static final int DIMENSION = 64;

  /**
   * Searchers run while one writer adds (singly and in parallel batches) and deletes. Every search must
   * succeed, and must see every write that returned before it started: an id published after its add is
   * found by a filtered search (which cannot miss it), and one published after its delete never is.
   */
  @Test
  void searchesRunWhileOneThreadWrites() throws Exception {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 16, 0.05f, 31);
    float[][] vectors = data.next(1600);
    float[][] queries = data.next(50);
    try (VectorIndex index = VectorIndex.builder(DIMENSION).searchMode(SearchMode.GRAPH).build()) {
      List<String> initial = new ArrayList<>();
      for (int i = 0; i < 800; i++) {
        initial.add("v" + i);
      }
      index.addAll(initial, java.util.Arrays.copyOf(vectors, 800));

      AtomicInteger lastAdded = new AtomicInteger(799);
      AtomicInteger lastDeleted = new AtomicInteger(-1);
      AtomicBoolean writing = new AtomicBoolean(true);
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<Integer>> searchers = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          int seed = t;
          searchers.add(pool.submit(() -> {
            int searches = 0;
            while (writing.get() || searches < 20) {
              int added = lastAdded.get();
              int deleted = lastDeleted.get();
              float[] query = queries[(seed + searches) % queries.length];
              assertEquals(10, index.search(query, 10).size());
              String addedId = "v" + added;
              assertEquals(addedId, index.search(query, 1, addedId::equals).get(0).id());
              if (deleted >= 0) {
                String deletedId = "v" + deleted;
                assertEquals(List.of(), index.search(query, 3, deletedId::equals));
              }
              searches++;
            }
            return searches;
          }));
        }
        Future<?> writer = pool.submit(() -> {
          for (int i = 800; i < 1600; ) {
            if (i % 200 == 0) {
              List<String> batch = new ArrayList<>();
              for (int j = i; j < i + 50; j++) {
                batch.add("v" + j);
              }
              index.addAll(batch, java.util.Arrays.copyOfRange(vectors, i, i + 50));
              i += 50;
            } else {
              index.add("v" + i, vectors[i]);
              i++;
            }
            lastAdded.set(i - 1);
            int victim = (i * 7) % 700;
            if (index.delete("v" + victim)) {
              lastDeleted.set(victim);
            }
          }
          writing.set(false);
          return null;
        });
        writer.get(60, TimeUnit.SECONDS);
        int total = 0;
        for (Future<Integer> searcher : searchers) {
          total += searcher.get(60, TimeUnit.SECONDS);
        }
        assertTrue(total >= 60, "searches ran: " + total);
      } finally {
        writing.set(false);
        pool.shutdownNow();
      }
    }
  }
}
