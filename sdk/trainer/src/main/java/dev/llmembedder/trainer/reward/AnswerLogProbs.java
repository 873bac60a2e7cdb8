package dev.llmembedder.trainer.reward;

import java.util.Arrays;

/**
 * The log-probabilities, in nats, of one answer's tokens given everything before them: entry i is
 * log P(o_i | C, q, o_&lt;i). Only the answer's tokens are here, never the prompt's.
 *
 * <p>Immutable and thread-safe (the array is copied in and out).
 *
 * @param tokenLogProbs one value per answer token, in order, each at most 0; at least one
 */
public record AnswerLogProbs(double[] tokenLogProbs) {
  /** @throws IllegalArgumentException if there is no value, or a value is NaN or positive (giving its index) */
  public AnswerLogProbs {
    if (tokenLogProbs == null || tokenLogProbs.length == 0) {
      throw new IllegalArgumentException("tokenLogProbs is " + (tokenLogProbs == null ? "null" : "empty")
          + "; an answer has at least one token");
    }
    tokenLogProbs = tokenLogProbs.clone();
    for (int i = 0; i < tokenLogProbs.length; i++) {
      // a log-softmax in float arithmetic can come out a few ulps above 0 for a near-certain token
      if (Double.isNaN(tokenLogProbs[i]) || tokenLogProbs[i] > 1e-6) {
        throw new IllegalArgumentException("tokenLogProbs[" + i + "] is " + tokenLogProbs[i]
            + "; a log-probability is a number at most 0");
      }
    }
  }

  @Override
  public double[] tokenLogProbs() {
    return tokenLogProbs.clone();
  }

  /** The number of answer tokens. */
  public int tokenCount() {
    return tokenLogProbs.length;
  }

  /** log P(O | C, q): the sum over the answer's tokens. */
  public double sum() {
    return LogProbReduction.SUM.reduce(tokenLogProbs);
  }

  /** The mean over the answer's tokens: {@link #sum()} / {@link #tokenCount()}. */
  public double mean() {
    return LogProbReduction.MEAN.reduce(tokenLogProbs);
  }

  /** {@link #sum()} or {@link #mean()}. */
  public double reduce(LogProbReduction reduction) {
    return reduction.reduce(tokenLogProbs);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AnswerLogProbs other && Arrays.equals(tokenLogProbs, other.tokenLogProbs);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(tokenLogProbs);
  }

  @Override
  public String toString() {
    return "AnswerLogProbs" + Arrays.toString(tokenLogProbs);
  }
}
