package dev.llmembedder.trainer.loss;

/**
 * A loss on the student's scores of one batch, with its gradient with respect to those scores.
 *
 * <p><b>Layout.</b> A batch holds {@code B} queries with {@code n} candidate keys each (a homogeneous batch: one task).
 * {@code scores[b][c * n + k]} is the score of query {@code b} against candidate {@code k} of query {@code c}, so
 * query {@code b}'s own candidates are columns {@code b * n} to {@code b * n + n - 1} and the other columns are its
 * in-batch negatives. A score is a dot product of L2-normalised embeddings (a cosine, in [-1, 1]); the losses divide
 * by their temperatures themselves. {@link Targets} gives the hard labels and the teacher's scores.
 *
 * <p><b>Reduction.</b> Every loss is a mean over the batch's queries, as FlagEmbedding's ({@code cross_entropy} with
 * mean reduction, {@code kl_div} with {@code batchmean}).
 *
 * <p>The implementations in this package are immutable and thread-safe, and compute in double precision with
 * {@link StrictMath}, so their results are bit-identical on every JVM.
 */
public interface ScoreLoss {
  /**
   * Computes the loss and adds {@code scale} times its gradient to {@code gradient}.
   *
   * @param scores {@code double[B][B * n]}, see the class comment; not modified
   * @param targets the batch's labels: {@code B} queries with {@code n} candidates each
   * @param scale the factor on the gradient added (a weight in a {@link CompositeLoss}; 1 alone)
   * @param gradient {@code double[B][B * n]}: {@code scale * d loss / d scores[b][j]} is added to each entry
   * @return the loss (not multiplied by {@code scale})
   * @throws IllegalArgumentException if shapes disagree, or the loss needs labels {@code targets} lacks (the
   *     message names them)
   */
  double accumulate(double[][] scores, Targets targets, double scale, double[][] gradient);

  /**
   * The loss and a new gradient array.
   *
   * @return the value and {@code double[B][B * n]}, the gradient with respect to {@code scores}
   * @throws IllegalArgumentException as {@link #accumulate}
   */
  default Result evaluate(double[][] scores, Targets targets) {
    double[][] gradient = new double[scores.length][];
    for (int b = 0; b < scores.length; b++) {
      gradient[b] = new double[scores[b] == null ? 0 : scores[b].length];
    }
    double value = accumulate(scores, targets, 1.0, gradient);
    return new Result(value, gradient);
  }

  /**
   * A loss value and its gradient with respect to the scores.
   *
   * @param value the loss
   * @param gradient {@code double[B][B * n]}
   */
  record Result(double value, double[][] gradient) {}
}
