package dev.llmembedder.trainer.loss;

/**
 * LLM-Embedder's stabilized (rank-aware) distillation of the LLM's rewards. Each query's candidates are ranked by the
 * teacher's score, best first: {@code c_0, c_1, ..., c_{n-1}}. Candidate {@code c_k} is then the positive of an
 * InfoNCE term whose negatives are the query's lower-ranked candidates {@code c_{k+1}, ..., c_{n-1}} and all in-batch
 * negatives (every candidate of the other queries), and that term is weighted by the candidate's normalised reward
 * {@code w = softmax(r / alpha)} over the query's teacher scores {@code r}. With {@code x = s / tau}, {@code S_{b,k}}
 * = the columns of {@code c_k, ..., c_{n-1}} of query {@code b} plus all columns of the other queries:
 *
 * <pre>
 *   L = (1/B) sum_b sum_k w_b[c_k] ( -x[b][c_k] + log sum_{j in S_{b,k}} exp(x[b][j]) )
 *   dL/ds[b][j] = (1/(B tau)) sum_k w_b[c_k] ( [j in S_{b,k}] softmax_{S_{b,k}}(x[b])_j - [j = c_k] )
 * </pre>
 *
 * <p>The ranking (the hard, relative signal) decides which candidates each one must beat; the rewards (the soft,
 * absolute signal) decide how much each term counts. The last-ranked candidate competes only with the in-batch
 * negatives. Ties in the teacher's scores keep the candidates' order.
 *
 * <p>Source: Zhang et al., "Retrieve Anything To Augment Large Language Models" (arXiv:2310.07554), Section 3,
 * "stabilized distillation" (rewards as weights {@code w ~ exp(r / alpha)}, lower-ranked candidates and in-batch
 * negatives as the contrast set); FlagEmbedding {@code research/llm_embedder/src/retrieval/modeling_dense.py},
 * {@code DenseRetriever._compute_loss} with {@code stable_distill}: for {@code i} in {@code 0..n-1},
 * {@code mean(softmax(teacher_scores)[:, i] * cross_entropy(scores / cos_temperature + mask, labels + i))}, summed
 * over {@code i}, where {@code mask} removes the query's candidates ranked above {@code i}. Two differences from that
 * code, both deliberate: FlagEmbedding's data loader ({@code data.py}, {@code stable_distill}) sorts only the
 * negatives and keeps the labelled positive first whatever its reward, while this loss ranks all candidates by
 * reward (the same when the positive has the top reward, e.g. with {@code select_positive="teacher"}); and the code's
 * weights are {@code softmax(r)}, that is {@code alpha = 1}, which is this class's default.
 *
 * <p>Immutable and thread-safe.
 *
 * @param temperature {@code tau} on the student's scores, positive and finite (default
 *     {@value InfoNceLoss#DEFAULT_TEMPERATURE})
 * @param alpha the temperature of the reward weights {@code softmax(r / alpha)}, positive and finite (default
 *     {@value #DEFAULT_ALPHA})
 */
public record StabilizedDistillationLoss(double temperature, double alpha) implements ScoreLoss {
  /** FlagEmbedding's reward weights are {@code softmax(teacher_scores)}: {@code alpha = 1}. */
  public static final double DEFAULT_ALPHA = 1.0;

  /** @throws IllegalArgumentException if a temperature is not positive and finite */
  public StabilizedDistillationLoss {
    Checks.temperature("temperature", temperature);
    Checks.temperature("alpha", alpha);
  }

  /** With the defaults: {@code tau} {@value InfoNceLoss#DEFAULT_TEMPERATURE}, {@code alpha} {@value #DEFAULT_ALPHA}. */
  public StabilizedDistillationLoss() {
    this(InfoNceLoss.DEFAULT_TEMPERATURE, DEFAULT_ALPHA);
  }

  /** @throws IllegalArgumentException also when {@code targets} has no teacher scores */
  @Override
  public double accumulate(double[][] scores, Targets targets, double scale, double[][] gradient) {
    targets.checkShapes(scores, gradient, "StabilizedDistillationLoss");
    if (targets.teacherScores() == null) {
      throw new IllegalArgumentException("StabilizedDistillationLoss needs the teacher's scores; the targets have"
          + " only positives");
    }
    int batch = targets.batchSize();
    int n = targets.candidatesPerQuery();
    int columns = batch * n;
    // scratch, reused for every row
    int[] order = new int[n];
    double[] weights = new double[n];
    double[] logZ = new double[n + 1]; // logZ[k] = log sum over S_k of exp(x); logZ[n] = the in-batch part alone
    double g = scale / (batch * temperature);
    double total = 0;
    for (int b = 0; b < batch; b++) {
      double[] row = scores[b];
      double[] teacher = targets.teacherScores()[b];
      rankDescending(teacher, order);
      Checks.softmax(teacher, alpha, weights);
      int own = b * n;
      // the in-batch negatives: every column outside [own, own + n)
      double outside = own == 0 ? Double.NEGATIVE_INFINITY : Checks.logSumExp(row, 0, own, temperature);
      if (own + n < columns) {
        outside = Checks.logAddExp(outside, Checks.logSumExp(row, own + n, columns, temperature));
      }
      logZ[n] = outside;
      for (int k = n - 1; k >= 0; k--) {
        logZ[k] = Checks.logAddExp(logZ[k + 1], row[own + order[k]] / temperature);
      }
      for (int k = 0; k < n; k++) {
        double w = weights[order[k]];
        total += w * (logZ[k] - row[own + order[k]] / temperature);
      }
      // gradient; every exponent below is <= 0 (logZ decreases with k, and x_j <= logZ[k] for j in S_k)
      double min = logZ[n - 1];
      double outsideCoefficient = 0;
      for (int k = 0; k < n; k++) {
        outsideCoefficient += weights[order[k]] * StrictMath.exp(min - logZ[k]);
      }
      double[] grad = gradient[b];
      for (int j = 0; j < columns; j++) {
        if (j < own || j >= own + n) {
          grad[j] += g * StrictMath.exp(row[j] / temperature - min) * outsideCoefficient;
        }
      }
      for (int m = 0; m < n; m++) {
        double x = row[own + order[m]] / temperature;
        double inSets = 0;
        for (int k = 0; k <= m; k++) {
          inSets += weights[order[k]] * StrictMath.exp(x - logZ[k]);
        }
        grad[own + order[m]] += g * (inSets - weights[order[m]]);
      }
    }
    return total / batch;
  }

  /** Candidate indices by descending teacher score; ties keep index order (a stable insertion sort, n is small). */
  static void rankDescending(double[] teacher, int[] order) {
    for (int i = 0; i < order.length; i++) {
      int k = i;
      while (k > 0 && teacher[order[k - 1]] < teacher[i]) {
        order[k] = order[k - 1];
        k--;
      }
      order[k] = i;
    }
  }
}
