package dev.llmembedder.trainer.loss;

/**
 * KL distillation of the teacher's (the LLM's) scores over each query's own candidates: with
 * {@code p_b = softmax(r_b / teacherTemperature)} and {@code q_b = softmax(s_b / studentTemperature)}, both over the
 * query's {@code n} candidates (its in-batch negatives take no part):
 *
 * <pre>
 *   L = (1/B) sum_b KL(p_b || q_b) = (1/B) sum_b sum_k p_b[k] (log p_b[k] - log q_b[k])
 *   dL/ds[b][b*n + k] = (1/B) (q_b[k] - p_b[k]) / studentTemperature;  0 for the other columns
 * </pre>
 * (terms with {@code p_b[k] = 0} count 0).
 *
 * <p>Source: Zhang et al., "Retrieve Anything To Augment Large Language Models" (arXiv:2310.07554), Section 3,
 * knowledge distillation by KL divergence; FlagEmbedding {@code research/llm_embedder/src/retrieval/modeling_dense.py},
 * {@code DenseRetriever._compute_loss} without {@code stable_distill}:
 * {@code kl_div(log_softmax(q @ k.T / cos_temperature / student_temperature), softmax(teacher_scores /
 * teacher_temperature), reduction="batchmean")}. The defaults are that code's effective student temperature
 * ({@code cos_temperature} 0.01 times {@code student_temperature} 1) and the teacher temperature 0.1 its fine-tuning
 * guide ({@code docs/fine-tune.md}) uses for long-range language modeling and long chat.
 *
 * <p>Immutable and thread-safe.
 *
 * @param studentTemperature divides the student's scores, positive and finite (default
 *     {@value InfoNceLoss#DEFAULT_TEMPERATURE})
 * @param teacherTemperature divides the teacher's scores, positive and finite (default
 *     {@value #DEFAULT_TEACHER_TEMPERATURE})
 */
public record KlDistillationLoss(double studentTemperature, double teacherTemperature) implements ScoreLoss {
  /** The teacher temperature of LLM-Embedder's lrlm and chat fine-tuning. */
  public static final double DEFAULT_TEACHER_TEMPERATURE = 0.1;

  /** @throws IllegalArgumentException if a temperature is not positive and finite */
  public KlDistillationLoss {
    Checks.temperature("studentTemperature", studentTemperature);
    Checks.temperature("teacherTemperature", teacherTemperature);
  }

  /** With the defaults: student {@value InfoNceLoss#DEFAULT_TEMPERATURE}, teacher {@value #DEFAULT_TEACHER_TEMPERATURE}. */
  public KlDistillationLoss() {
    this(InfoNceLoss.DEFAULT_TEMPERATURE, DEFAULT_TEACHER_TEMPERATURE);
  }

  /** @throws IllegalArgumentException also when {@code targets} has no teacher scores */
  @Override
  public double accumulate(double[][] scores, Targets targets, double scale, double[][] gradient) {
    targets.checkShapes(scores, gradient, "KlDistillationLoss");
    if (targets.teacherScores() == null) {
      throw new IllegalArgumentException("KlDistillationLoss needs the teacher's scores; the targets have only"
          + " positives");
    }
    int batch = targets.batchSize();
    int n = targets.candidatesPerQuery();
    double[] p = new double[n]; // scratch, reused for every row
    double g = scale / (batch * studentTemperature);
    double total = 0;
    for (int b = 0; b < batch; b++) {
      double[] row = scores[b];
      double[] teacher = targets.teacherScores()[b];
      int own = b * n;
      Checks.softmax(teacher, teacherTemperature, p);
      double logZp = Checks.logSumExp(teacher, 0, n, teacherTemperature);
      double logZq = Checks.logSumExp(row, own, own + n, studentTemperature);
      double[] grad = gradient[b];
      for (int k = 0; k < n; k++) {
        double logQ = row[own + k] / studentTemperature - logZq;
        if (p[k] > 0) {
          double logP = teacher[k] / teacherTemperature - logZp;
          total += p[k] * (logP - logQ);
        }
        grad[own + k] += g * (StrictMath.exp(logQ) - p[k]);
      }
    }
    return total / batch;
  }
}
