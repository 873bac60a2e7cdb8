package dev.llmembedder.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.testing.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The loader and metrics on the real BEIR SciFact files in {@code shared/data/scifact} (counts from SOURCE.md). */
class SciFactTest {
  private static Path dir;
  private static BeirDataset test;

  /** Per test, not {@code @BeforeAll}: surefire then reports each test as skipped, with the reason. */
  @BeforeEach
  void load() throws IOException {
    dir = SharedData.require("data/scifact");
    if (test == null) {
      test = BeirDataset.load(dir, "test");
    }
  }

  @Test
  void testSplitHasTheDocumentedCounts() {
    assertEquals("scifact", test.name());
    assertEquals(5_183, test.corpus().size());
    assertEquals(300, test.queries().size());
    assertEquals(339, test.judgments());
    assertTrue(test.qrels().values().stream().allMatch(docs -> docs.values().stream().allMatch(rel -> rel == 1)),
        "SciFact test judgments are all score 1");
    assertTrue(test.corpus().keySet().containsAll(judgedDocs(test)), "every judged document is in the corpus");
    assertEquals("4983", test.corpus().keySet().iterator().next()); // file order
  }

  @Test
  void trainSplitHasTheDocumentedCounts() throws IOException {
    BeirDataset train = BeirDataset.load(dir, "train");
    assertEquals(809, train.queries().size());
    assertEquals(919, train.judgments());
    assertTrue(Collections.disjoint(train.queries().keySet(), test.queries().keySet()));
  }

  @Test
  void subsetKeepsAllRelevantDocuments() {
    Set<String> judged = judgedDocs(test);
    assertEquals(283, judged.size());
    BeirDataset small = test.subset(200, 42);
    assertEquals(judged.size() + 200, small.corpus().size());
    assertTrue(small.corpus().keySet().containsAll(judged));
    assertEquals(test.queries(), small.queries());
    assertEquals(test.qrels(), small.qrels());
    assertEquals(small, test.subset(200, 42));
    assertNotEquals(small.corpus(), test.subset(200, 43).corpus(), "another seed draws other documents");
  }

  @Test
  void anOracleRunScoresOneAndAnEmptyRunZero() {
    Map<String, List<String>> oracle = test.qrels().entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> List.copyOf(e.getValue().keySet())));
    EvalReport perfect = RetrievalMetrics.evaluate(test.qrels(), oracle, 1, 10, 100);
    assertEquals(300, perfect.queries());
    assertEquals(1.0, perfect.ndcg(10), 1e-12);
    assertEquals(1.0, perfect.recall(100), 1e-12);
    assertEquals(1.0, perfect.mrr(10), 1e-12);
    assertEquals(1.0, perfect.precision(1), 1e-12);
    assertEquals(339 / 300.0 / 10, perfect.precision(10), 1e-12);

    EvalReport empty = RetrievalMetrics.evaluate(test.qrels(), Map.of(), 10);
    assertEquals(300, empty.queries());
    assertEquals(0.0, empty.ndcg(10));
  }

  private static Set<String> judgedDocs(BeirDataset data) {
    Set<String> docs = new HashSet<>();
    data.qrels().values().forEach(judged -> docs.addAll(judged.keySet()));
    return docs;
  }
}
