package dev.llmembedder.trainer.reward;

/**
 * How an {@link LlmScorer} turns the answer tokens' log-probabilities into one score.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum LogProbReduction {
  /**
   * Their sum, log P(O | C, q) in nats: the paper's reward r = P(O | C, q) on a log scale. At most 0; favours short
   * answers when answers of different lengths are compared, which does not happen among one query's candidates.
   */
  SUM,
  /**
   * Their mean, the sum divided by the number of answer tokens (a length-normalised log-likelihood, minus the
   * log-perplexity of the answer). For one query the ranking of candidates is the same as with {@link #SUM}; the scale
   * differs (teacher-score temperatures tuned for one do not fit the other).
   */
  MEAN;

  /** Reduces the log-probabilities of one answer's tokens; {@code logProbs} holds at least one value. */
  double reduce(double[] logProbs) {
    double sum = 0;
    for (double lp : logProbs) {
      sum += lp;
    }
    return this == SUM ? sum : sum / logProbs.length;
  }
}
