package dev.llmembedder.trainer.loss;

import java.util.List;
import java.util.Objects;

/**
 * A weighted sum of losses: {@code L = sum_i weight_i L_i}, gradient likewise. LLM-Embedder trains with contrastive
 * learning and distillation together, {@code 0.2 * contrastive + 1.0 * distillation} by default (FlagEmbedding
 * {@code DenseRetriever}: {@code contrastive_weight=0.2}, {@code distill_weight=1.0}), for example
 * {@code CompositeLoss.of(0.2, new InfoNceLoss(), 1.0, new StabilizedDistillationLoss())}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param terms at least one
 */
public record CompositeLoss(List<Term> terms) implements ScoreLoss {
  /**
   * One weighted loss.
   *
   * @param weight finite and non-negative
   * @param loss not null
   */
  public record Term(double weight, ScoreLoss loss) {
    /** @throws IllegalArgumentException if {@code weight} is negative or not finite */
    public Term {
      if (!(weight >= 0) || !Double.isFinite(weight)) {
        throw new IllegalArgumentException("weight is " + weight + "; must be finite and non-negative");
      }
      Objects.requireNonNull(loss, "loss");
    }
  }

  /** @throws IllegalArgumentException if there is no term */
  public CompositeLoss {
    terms = List.copyOf(Objects.requireNonNull(terms, "terms"));
    if (terms.isEmpty()) {
      throw new IllegalArgumentException("a composite loss needs at least one term");
    }
  }

  /** {@code w1 * l1 + w2 * l2}. */
  public static CompositeLoss of(double w1, ScoreLoss l1, double w2, ScoreLoss l2) {
    return new CompositeLoss(List.of(new Term(w1, l1), new Term(w2, l2)));
  }

  @Override
  public double accumulate(double[][] scores, Targets targets, double scale, double[][] gradient) {
    double total = 0;
    for (Term term : terms) {
      if (term.weight() > 0) {
        total += term.weight() * term.loss().accumulate(scores, targets, scale * term.weight(), gradient);
      }
    }
    return total;
  }
}
