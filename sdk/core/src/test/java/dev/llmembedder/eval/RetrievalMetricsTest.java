package dev.llmembedder.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Metric values checked against hand computations with trec_eval's definitions. */
class RetrievalMetricsTest {
  private static final double EPS = 1e-12;
  private static final double LOG2_3 = Math.log(3) / Math.log(2);
  private static final double LOG2_5 = Math.log(5) / Math.log(2);

  @Test
  void binaryRelevanceAtEveryCutoffIncludingOneLongerThanTheRun() {
    // relevant a, b, c; retrieved x a y b z: hits at ranks 2 and 4
    Map<String, Map<String, Integer>> qrels = Map.of("q", Map.of("a", 1, "b", 1, "c", 1));
    EvalReport report = RetrievalMetrics.evaluate(qrels, Map.of("q", List.of("x", "a", "y", "b", "z")), 1, 3, 5, 10);

    double idcg = 1 + 1 / LOG2_3 + 1 / 2.0; // three relevant at ranks 1..3
    assertEquals(0.0, report.ndcg(1), EPS);
    assertEquals((1 / LOG2_3) / idcg, report.ndcg(3), EPS);
    assertEquals((1 / LOG2_3 + 1 / LOG2_5) / idcg, report.ndcg(5), EPS);
    assertEquals(0.49818925746641285, report.ndcg(5), 1e-12);
    assertEquals(report.ndcg(5), report.ndcg(10), EPS); // nothing past rank 5; IDCG@10 = IDCG@3

    assertEquals(0.0, report.recall(1), EPS);
    assertEquals(1 / 3.0, report.recall(3), EPS);
    assertEquals(2 / 3.0, report.recall(5), EPS);
    assertEquals(2 / 3.0, report.recall(10), EPS);

    assertEquals(0.0, report.mrr(1), EPS);
    assertEquals(0.5, report.mrr(3), EPS);
    assertEquals(0.5, report.mrr(10), EPS);

    assertEquals(0.0, report.precision(1), EPS);
    assertEquals(1 / 3.0, report.precision(3), EPS);
    assertEquals(2 / 5.0, report.precision(5), EPS);
    assertEquals(2 / 10.0, report.precision(10), EPS); // divides by k, not by the 5 retrieved
    assertEquals(1, report.queries());
  }

  @Test
  void gradedRelevanceUsesTheGradeAsGainAndIgnoresNonPositiveGrades() {
    // a=2, b=1 relevant; c=0 and d=-1 judged non-relevant; retrieved b c a d
    Map<String, Map<String, Integer>> qrels = Map.of("q", Map.of("a", 2, "b", 1, "c", 0, "d", -1));
    EvalReport report = RetrievalMetrics.evaluate(qrels, Map.of("q", List.of("b", "c", "a", "d")), 1, 4);

    double dcg4 = 1 / 1.0 + 0 + 2 / 2.0 + 0; // -1 adds nothing
    double idcg4 = 2 / 1.0 + 1 / LOG2_3;
    assertEquals(0.5, report.ndcg(1), EPS); // 1 / 2
    assertEquals(dcg4 / idcg4, report.ndcg(4), EPS);
    assertEquals(0.7601875334318685, report.ndcg(4), 1e-12); // (exponential gain 2^rel - 1 would give 0.6885)
    assertEquals(1.0, report.recall(4), EPS);
    assertEquals(1.0, report.mrr(1), EPS);
    assertEquals(0.5, report.precision(4), EPS);
  }

  @Test
  void noRelevantRetrievedScoresZero() {
    EvalReport report = RetrievalMetrics.evaluate(
        Map.of("q", Map.of("a", 1)), Map.of("q", List.of("x", "y")), 10);
    assertEquals(Map.of("ndcg@10", 0.0, "recall@10", 0.0, "mrr@10", 0.0, "precision@10", 0.0), report.metrics());
  }

  @Test
  void scoresAreRankedAsTrecEvalRanksThem() {
    assertEquals(List.of("d", "b", "a", "c"), RetrievalMetrics.rank(Map.of("a", 1.0, "b", 1.0, "c", 0.5, "d", 2.0)));

    // a and b tie; trec_eval puts b (the greater id) first, so the relevant a is at rank 2
    EvalReport report = RetrievalMetrics.evaluateScores(
        Map.of("q", Map.of("a", 1)), Map.of("q", Map.of("a", 0.9, "b", 0.9, "c", 0.1)), 1, 2);
    assertEquals(0.0, report.ndcg(1), EPS);
    assertEquals(0.5, report.mrr(2), EPS);
    assertEquals(1 / LOG2_3, report.ndcg(2), EPS);
  }

  @Test
  void averagesOverJudgedQueriesWithARelevantDocument() {
    Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
    qrels.put("q1", Map.of("a", 1));
    qrels.put("q2", Map.of("b", 1)); // absent from the run: scores 0
    qrels.put("q3", Map.of("c", 0)); // no relevant document: skipped
    Map<String, List<String>> run = Map.of(
        "q1", List.of("a"),
        "q3", List.of("c"),
        "unjudged", List.of("z")); // not in the qrels: ignored
    EvalReport report = RetrievalMetrics.evaluate(qrels, run, 10);

    assertEquals(2, report.queries());
    assertEquals(List.of("q1", "q2"), List.copyOf(report.perQuery().keySet()));
    assertEquals(1.0, report.perQuery().get("q1").get("ndcg@10"), EPS);
    assertEquals(0.0, report.perQuery().get("q2").get("ndcg@10"), EPS);
    assertEquals(0.5, report.ndcg(10), EPS);
    assertEquals(0.5, report.recall(10), EPS);
    assertEquals(0.5, report.mrr(10), EPS);
    assertEquals(0.05, report.precision(10), EPS);
  }

  @Test
  void reportKeysFollowMetricThenCutoffOrder() {
    EvalReport report = RetrievalMetrics.evaluate(Map.of("q", Map.of("a", 1)), Map.of("q", List.of("a")), 10, 1);
    assertEquals(List.of("ndcg@10", "ndcg@1", "recall@10", "recall@1", "mrr@10", "mrr@1", "precision@10",
        "precision@1"), List.copyOf(report.metrics().keySet()));
    assertTrue(report.toString().startsWith("EvalReport[queries=1, ndcg@10=1.00000, "), report.toString());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> report.ndcg(5));
    assertEquals("no metric 'ndcg@5' in this report; it has " + report.metrics().keySet(), e.getMessage());
  }

  @Test
  void rejectsBadArgumentsNamingThem() {
    Map<String, Map<String, Integer>> qrels = Map.of("q", Map.of("a", 1));
    Map<String, List<String>> run = Map.of("q", List.of("a"));

    assertMessage("no cutoffs; expected at least one k >= 1, e.g. 10",
        () -> RetrievalMetrics.evaluate(qrels, run));
    assertMessage("cutoff 0 in [10, 0]; expected every k >= 1",
        () -> RetrievalMetrics.evaluate(qrels, run, 10, 0));
    assertMessage("cutoff 10 appears twice in [10, 5, 10]; expected distinct values",
        () -> RetrievalMetrics.evaluate(qrels, run, 10, 5, 10));
    assertMessage("run of query 'q' lists document 'a' twice (ranks 1 and 3); expected distinct document ids",
        () -> RetrievalMetrics.evaluate(qrels, Map.of("q", List.of("a", "b", "a")), 10));
    assertMessage("score of document 'b' is NaN; expected a number",
        () -> RetrievalMetrics.evaluateScores(qrels, Map.of("q", Map.of("b", Double.NaN)), 10));
    assertMessage("no qrels query has a relevant document (relevance > 0) among its 1 queries; expected at least one",
        () -> RetrievalMetrics.evaluate(Map.of("q", Map.of("a", 0)), run, 10));
  }

  private static void assertMessage(String expected, Runnable call) {
    assertEquals(expected, assertThrows(IllegalArgumentException.class, call::run).getMessage());
  }
}
