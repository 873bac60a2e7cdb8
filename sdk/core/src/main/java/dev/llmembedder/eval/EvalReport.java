package dev.llmembedder.eval;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The result of {@link RetrievalMetrics}: mean and per-query metric values, keyed {@code "<metric>@<k>"} with metric
 * one of {@code ndcg}, {@code recall}, {@code mrr}, {@code precision}, e.g. {@code "ndcg@10"}. Immutable.
 *
 * <p><b>Thread-safety.</b> Immutable (both maps are unmodifiable copies) and thread-safe.
 *
 * @param metrics metric key &rarr; mean over the evaluated queries, metric by metric, each over the cutoffs in the
 *     order asked
 * @param perQuery query id &rarr; metric key &rarr; value, for every evaluated query, in qrels order
 */
public record EvalReport(Map<String, Double> metrics, Map<String, Map<String, Double>> perQuery) {
  /**
   * Copies both maps into unmodifiable, order-keeping ones.
   *
   * @throws NullPointerException if either map, or any key or value in them, is null
   */
  public EvalReport {
    Objects.requireNonNull(metrics, "metrics is null");
    Objects.requireNonNull(perQuery, "perQuery is null");
    metrics = copy(metrics, "metrics");
    Map<String, Map<String, Double>> queries = new LinkedHashMap<>();
    perQuery.forEach((id, values) -> queries.put(Objects.requireNonNull(id, "perQuery has a null query id"),
        copy(Objects.requireNonNull(values, () -> "perQuery values of query '" + id + "' are null"),
            "perQuery of query '" + id + "'")));
    perQuery = Collections.unmodifiableMap(queries);
  }

  /** The number of queries averaged over. */
  public int queries() {
    return perQuery.size();
  }

  /**
   * The mean of one metric.
   *
   * @param key e.g. {@code "ndcg@10"}
   * @return its mean over {@link #queries()} queries
   * @throws IllegalArgumentException if this report lacks {@code key}; the message lists the keys it has
   */
  public double metric(String key) {
    Double value = metrics.get(key);
    if (value == null) {
      throw new IllegalArgumentException("no metric '" + key + "' in this report; it has " + metrics.keySet());
    }
    return value;
  }

  /** Mean nDCG@k: {@code metric("ndcg@" + k)}. */
  public double ndcg(int k) {
    return metric(RetrievalMetrics.NDCG + "@" + k);
  }

  /** Mean Recall@k: {@code metric("recall@" + k)}. */
  public double recall(int k) {
    return metric(RetrievalMetrics.RECALL + "@" + k);
  }

  /** Mean MRR@k: {@code metric("mrr@" + k)}. */
  public double mrr(int k) {
    return metric(RetrievalMetrics.MRR + "@" + k);
  }

  /** Mean Precision@k: {@code metric("precision@" + k)}. */
  public double precision(int k) {
    return metric(RetrievalMetrics.PRECISION + "@" + k);
  }

  /** The query count and the means, to 5 decimals (as BEIR prints them); not the per-query values. */
  @Override
  public String toString() {
    return metrics.entrySet().stream()
        .map(e -> e.getKey() + "=" + String.format(Locale.ROOT, "%.5f", e.getValue()))
        .collect(Collectors.joining(", ", "EvalReport[queries=" + queries() + ", ", "]"));
  }

  private static Map<String, Double> copy(Map<String, Double> values, String what) {
    Map<String, Double> copy = new LinkedHashMap<>();
    values.forEach((key, value) -> copy.put(Objects.requireNonNull(key, () -> what + " has a null key"),
        Objects.requireNonNull(value, () -> what + " has a null value for '" + key + "'")));
    return Collections.unmodifiableMap(copy);
  }
}
