package dev.llmembedder.trainer.loss;

/**
 * Contrastive InfoNCE loss on the hard labels with in-batch negatives. For query {@code b} with positive column
 * {@code t_b = b * n + positives[b]} and temperature {@code tau}:
 *
 * <pre>
 *   L = (1/B) sum_b [ -s[b][t_b] / tau + log sum_{j &lt; B*n} exp(s[b][j] / tau) ]
 *   dL/ds[b][j] = (1/B) (softmax_j(s[b] / tau) - [j = t_b]) / tau
 * </pre>
 *
 * <p>Every candidate of the batch competes: the query's own negatives and all candidates of the other queries. With
 * homogeneous batches (all from one task) these in-batch negatives are of the same kind as the positive, which is
 * LLM-Embedder's "homogeneous in-batch negative sampling".
 *
 * <p>Source: Zhang et al., "Retrieve Anything To Augment Large Language Models" (arXiv:2310.07554), Section 3,
 * contrastive learning with instruction-based fine-tuning and homogeneous in-batch negatives; FlagEmbedding
 * {@code research/llm_embedder/src/retrieval/modeling_dense.py}, {@code DenseRetriever._compute_loss}
 * ({@code cross_entropy(q @ k.T / cos_temperature, labels = arange(B) * n)}, the positive first in each group).
 *
 * <p>Immutable and thread-safe.
 *
 * @param temperature {@code tau}, positive and finite; {@value #DEFAULT_TEMPERATURE} by default (FlagEmbedding's
 *     {@code cos_temperature})
 */
public record InfoNceLoss(double temperature) implements ScoreLoss {
  /** LLM-Embedder's temperature for cosine scores. */
  public static final double DEFAULT_TEMPERATURE = 0.01;

  /** @throws IllegalArgumentException if {@code temperature} is not positive and finite */
  public InfoNceLoss {
    Checks.temperature("temperature", temperature);
  }

  /** With the default temperature {@value #DEFAULT_TEMPERATURE}. */
  public InfoNceLoss() {
    this(DEFAULT_TEMPERATURE);
  }

  /** @throws IllegalArgumentException also when {@code targets} has no positives */
  @Override
  public double accumulate(double[][] scores, Targets targets, double scale, double[][] gradient) {
    targets.checkShapes(scores, gradient, "InfoNceLoss");
    if (targets.positives() == null) {
      throw new IllegalArgumentException("InfoNceLoss needs the positives (hard labels); the targets have only"
          + " teacher scores");
    }
    int batch = targets.batchSize();
    int n = targets.candidatesPerQuery();
    int columns = batch * n;
    double[] exps = new double[columns]; // scratch, reused for every row
    double total = 0;
    double g = scale / (batch * temperature);
    for (int b = 0; b < batch; b++) {
      double[] row = scores[b];
      int target = b * n + targets.positives()[b];
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < columns; j++) {
        max = Math.max(max, row[j] / temperature);
      }
      double sum = 0;
      for (int j = 0; j < columns; j++) {
        exps[j] = StrictMath.exp(row[j] / temperature - max);
        sum += exps[j];
      }
      total += max + StrictMath.log(sum) - row[target] / temperature;
      double[] grad = gradient[b];
      for (int j = 0; j < columns; j++) {
        grad[j] += g * (exps[j] / sum - (j == target ? 1 : 0));
      }
    }
    return total / batch;
  }
}
