package dev.llmembedder.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Ranking metrics of a retrieval run against relevance judgments, as trec_eval (and so pytrec_eval, which BEIR and
 * MTEB use) defines them. Stateless.
 *
 * <p><b>Inputs.</b> Qrels map query id &rarr; document id &rarr; graded relevance; a document is <em>relevant</em>
 * when its relevance is {@code > 0}, and unjudged documents count as non-relevant. A run maps query id to either a
 * ranked list of document ids, best first ({@link #evaluate}), or document id &rarr; score ({@link
 * #evaluateScores}), which is ranked as trec_eval ranks: by score descending, ties by document id descending.
 *
 * <p><b>Metrics</b> for one query with ranking {@code d_1, d_2, ...}, relevance {@code rel(d)} ({@code 0} when
 * unjudged or {@code <= 0}), {@code R} relevant documents and cutoff {@code k}:
 * <ul>
 *   <li>{@code ndcg@k} (trec_eval {@code ndcg_cut.k}): {@code DCG@k / IDCG@k} with {@code DCG@k = sum over i <= k
 *       of rel(d_i) / log2(i + 1)} (gain = graded relevance, not {@code 2^rel - 1}) and {@code IDCG@k} the same
 *       sum over the judged relevances sorted descending.
 *   <li>{@code recall@k} (trec_eval {@code recall.k}): relevant documents in the top {@code k}, divided by {@code R}.
 *   <li>{@code mrr@k} (trec_eval {@code recip_rank} on the top {@code k}; BEIR's {@code MRR@k}): {@code 1 / i} for
 *       the first relevant {@code d_i} with {@code i <= k}, else {@code 0}.
 *   <li>{@code precision@k} (trec_eval {@code P.k}): relevant documents in the top {@code k}, divided by {@code k},
 *       even when fewer than {@code k} documents were retrieved.
 * </ul>
 *
 * <p><b>Averaging.</b> Means are taken over every query of the qrels with at least one relevant document; such a
 * query absent from the run scores {@code 0} on every metric (trec_eval {@code -c}). Queries with no relevant
 * document are skipped (their metrics are undefined), and run queries absent from the qrels are ignored. Note that
 * BEIR's {@code EvaluateRetrieval.evaluate} averages pytrec_eval's values over the queries present in the run only,
 * which is the same for any run that answers every query, as dense retrieval does.
 *
 * <p><b>Thread-safety.</b> Stateless static methods: thread-safe.
 */
public final class RetrievalMetrics {
  static final String NDCG = "ndcg";
  static final String RECALL = "recall";
  static final String MRR = "mrr";
  static final String PRECISION = "precision";

  /** trec_eval's order: score descending, then document id descending. */
  private static final Comparator<Map.Entry<String, Double>> TREC_ORDER =
      Map.Entry.<String, Double>comparingByValue().thenComparing(Map.Entry.comparingByKey()).reversed();

  private RetrievalMetrics() {}

  /**
   * Evaluates a run of ranked lists.
   *
   * @param qrels query id &rarr; document id &rarr; graded relevance
   * @param run query id &rarr; document ids, best first; only the top {@code max(cutoffs)} matter
   * @param cutoffs the {@code k}s, e.g. {@code 1, 3, 5, 10, 100, 1000} (BEIR's); each metric is reported at each
   * @return the means and per-query values of every metric at every cutoff
   * @throws IllegalArgumentException if {@code cutoffs} is empty or holds a value below 1 or twice, if no qrels query
   *     has a relevant document, or if the ranking of an evaluated query lists a document twice
   * @throws NullPointerException if an argument, or any id, map, list or relevance in them, is null
   */
  public static EvalReport evaluate(
      Map<String, ? extends Map<String, Integer>> qrels, Map<String, ? extends List<String>> run, int... cutoffs) {
    Objects.requireNonNull(qrels, "qrels is null");
    Objects.requireNonNull(run, "run is null");
    int[] ks = checkCutoffs(cutoffs);
    int maxK = Arrays.stream(ks).max().orElseThrow();
    Map<String, Map<String, Double>> perQuery = new LinkedHashMap<>();
    qrels.forEach((queryId, judgments) -> {
      Objects.requireNonNull(queryId, "qrels hold a null query id");
      Objects.requireNonNull(judgments, () -> "qrels of query '" + queryId + "' are null");
      List<String> ranking = run.containsKey(queryId)
          ? Objects.requireNonNull(run.get(queryId), () -> "run of query '" + queryId + "' is null")
          : List.of();
      Map<String, Double> values = evaluateQuery(queryId, judgments, ranking, ks, maxK);
      if (values != null) {
        perQuery.put(queryId, values);
      }
    });
    if (perQuery.isEmpty()) {
      throw new IllegalArgumentException("no qrels query has a relevant document (relevance > 0) among its "
          + qrels.size() + " queries; expected at least one");
    }
    Map<String, Double> means = new LinkedHashMap<>();
    for (String key : perQuery.values().iterator().next().keySet()) {
      double sum = 0;
      for (Map<String, Double> values : perQuery.values()) {
        sum += values.get(key);
      }
      means.put(key, sum / perQuery.size());
    }
    return new EvalReport(means, perQuery);
  }

  /**
   * Evaluates a run of scores, each query's documents ranked by {@link #rank}. Otherwise as {@link #evaluate}.
   *
   * @param run query id &rarr; document id &rarr; score (higher is better)
   * @throws IllegalArgumentException as {@link #evaluate}, or if a score of an evaluated query is NaN
   */
  public static EvalReport evaluateScores(
      Map<String, ? extends Map<String, Integer>> qrels, Map<String, ? extends Map<String, Double>> run,
      int... cutoffs) {
    Objects.requireNonNull(qrels, "qrels is null");
    Objects.requireNonNull(run, "run is null");
    Map<String, List<String>> ranked = new HashMap<>();
    for (String queryId : qrels.keySet()) {
      Map<String, Double> scores = run.get(queryId);
      if (scores != null) {
        ranked.put(queryId, rank(scores));
      }
    }
    return evaluate(qrels, ranked, cutoffs);
  }

  /**
   * Ranks documents as trec_eval does: by score descending, ties broken by document id descending (for ASCII ids
   * the same as trec_eval's {@code strcmp}; this compares UTF-16 code units).
   *
   * @param scores document id &rarr; score
   * @return the document ids, best first
   * @throws IllegalArgumentException if a score is NaN
   * @throws NullPointerException if {@code scores}, or any id or score in it, is null
   */
  public static List<String> rank(Map<String, Double> scores) {
    Objects.requireNonNull(scores, "scores is null");
    List<Map.Entry<String, Double>> entries = new ArrayList<>(scores.size());
    scores.forEach((docId, score) -> {
      Objects.requireNonNull(docId, "scores hold a null document id");
      Objects.requireNonNull(score, () -> "score of document '" + docId + "' is null");
      if (score.isNaN()) {
        throw new IllegalArgumentException("score of document '" + docId + "' is NaN; expected a number");
      }
      entries.add(Map.entry(docId, score));
    });
    entries.sort(TREC_ORDER);
    return entries.stream().map(Map.Entry::getKey).toList();
  }

  /** The metrics of one query, or null when it has no relevant document. */
  private static Map<String, Double> evaluateQuery(
      String queryId, Map<String, Integer> judgments, List<String> ranking, int[] ks, int maxK) {
    int[] ideal = judgments.entrySet().stream()
        .mapToInt(e -> Objects.requireNonNull(e.getValue(),
            () -> "relevance of query '" + queryId + "', document '" + e.getKey() + "' is null"))
        .filter(rel -> rel > 0)
        .map(rel -> -rel).sorted().map(rel -> -rel)
        .toArray();
    if (ideal.length == 0) {
      return null;
    }
    checkDistinct(queryId, ranking);
    int depth = Math.min(maxK, ranking.size());
    // prefix sums over ranks 1..depth: dcg[n] and hits[n] cover the top n
    double[] dcg = new double[depth + 1];
    int[] hits = new int[depth + 1];
    int firstHit = Integer.MAX_VALUE;
    for (int i = 0; i < depth; i++) {
      String docId = ranking.get(i);
      int rel = Math.max(0, judgments.getOrDefault(docId, 0));
      dcg[i + 1] = dcg[i] + rel / log2(i + 2);
      hits[i + 1] = hits[i] + (rel > 0 ? 1 : 0);
      if (rel > 0 && firstHit == Integer.MAX_VALUE) {
        firstHit = i + 1;
      }
    }
    int idealDepth = Math.min(maxK, ideal.length);
    double[] idcg = new double[idealDepth + 1];
    for (int i = 0; i < idealDepth; i++) {
      idcg[i + 1] = idcg[i] + ideal[i] / log2(i + 2);
    }
    Map<String, Double> values = new LinkedHashMap<>();
    for (int k : ks) {
      values.put(NDCG + "@" + k, dcg[Math.min(k, depth)] / idcg[Math.min(k, idealDepth)]);
    }
    for (int k : ks) {
      values.put(RECALL + "@" + k, (double) hits[Math.min(k, depth)] / ideal.length);
    }
    for (int k : ks) {
      values.put(MRR + "@" + k, firstHit <= k ? 1.0 / firstHit : 0.0);
    }
    for (int k : ks) {
      values.put(PRECISION + "@" + k, (double) hits[Math.min(k, depth)] / k);
    }
    return values;
  }

  /** Rejects null and repeated document ids in a ranking. */
  private static void checkDistinct(String queryId, List<String> ranking) {
    Map<String, Integer> ranks = new HashMap<>();
    for (int i = 0; i < ranking.size(); i++) {
      String docId = ranking.get(i);
      if (docId == null) {
        throw new NullPointerException("run of query '" + queryId + "' has a null document id at rank " + (i + 1));
      }
      Integer earlier = ranks.putIfAbsent(docId, i + 1);
      if (earlier != null) {
        throw new IllegalArgumentException("run of query '" + queryId + "' lists document '" + docId
            + "' twice (ranks " + earlier + " and " + (i + 1) + "); expected distinct document ids");
      }
    }
  }

  private static int[] checkCutoffs(int[] cutoffs) {
    Objects.requireNonNull(cutoffs, "cutoffs is null");
    if (cutoffs.length == 0) {
      throw new IllegalArgumentException("no cutoffs; expected at least one k >= 1, e.g. 10");
    }
    for (int i = 0; i < cutoffs.length; i++) {
      if (cutoffs[i] < 1) {
        throw new IllegalArgumentException("cutoff " + cutoffs[i] + " in " + Arrays.toString(cutoffs)
            + "; expected every k >= 1");
      }
      for (int j = 0; j < i; j++) {
        if (cutoffs[j] == cutoffs[i]) {
          throw new IllegalArgumentException("cutoff " + cutoffs[i] + " appears twice in "
              + Arrays.toString(cutoffs) + "; expected distinct values");
        }
      }
    }
    return cutoffs.clone();
  }

  private static double log2(int x) {
    return Math.log(x) / Math.log(2);
  }
}
