package dev.llmembedder.trainer.train;

import java.util.Objects;

/**
 * One training query with its candidate keys, already embedded by the frozen encoder: the unit the adapter is trained
 * on. The query embedding is the model's own ({@code Encoder.encode} with the task's query instruction, never through
 * an adapter); the candidates are key embeddings ({@code Encoder.encodeKeys}).
 *
 * <p>The arrays are not copied (many examples share key arrays; {@link BatchEncoder} makes them so): do not modify
 * them afterwards. Equality is identity.
 *
 * <p><b>Thread-safety.</b> The arrays are not copied: they are shared with the caller and must not be changed while the example is in use; safe to read from several threads once built.
 *
 * @param query {@code float[d]}, L2-normalised
 * @param candidates {@code float[n][d]}, each L2-normalised, {@code n >= 1}
 * @param positive the index of the positive among {@code candidates} (the hard label, for
 *     {@link dev.llmembedder.trainer.loss.InfoNceLoss}), or {@value #NO_POSITIVE} for none
 * @param teacherScores {@code double[n]}: the LLM's reward for each candidate (for the distillation losses), or null
 */
public record EmbeddedExample(float[] query, float[][] candidates, int positive, double[] teacherScores) {
  /** {@link #positive()} of an example without a hard label. */
  public static final int NO_POSITIVE = -1;

  /** @throws IllegalArgumentException naming the candidate, index or score that does not fit */
  public EmbeddedExample {
    Objects.requireNonNull(query, "query");
    Objects.requireNonNull(candidates, "candidates");
    if (query.length == 0) {
      throw new IllegalArgumentException("query embedding is empty");
    }
    if (candidates.length == 0) {
      throw new IllegalArgumentException("an example needs at least one candidate");
    }
    for (int k = 0; k < candidates.length; k++) {
      if (candidates[k] == null || candidates[k].length != query.length) {
        throw new IllegalArgumentException("candidates[" + k + "] has " + (candidates[k] == null ? "null"
            : "dimension " + candidates[k].length) + "; the query has dimension " + query.length);
      }
    }
    if (positive != NO_POSITIVE && (positive < 0 || positive >= candidates.length)) {
      throw new IllegalArgumentException("positive is " + positive + "; allowed: 0 to " + (candidates.length - 1)
          + ", or " + NO_POSITIVE + " for none");
    }
    if (teacherScores != null) {
      if (teacherScores.length != candidates.length) {
        throw new IllegalArgumentException("teacherScores has length " + teacherScores.length + "; expected "
            + candidates.length + " (one per candidate)");
      }
      for (int k = 0; k < teacherScores.length; k++) {
        if (!Double.isFinite(teacherScores[k])) {
          throw new IllegalArgumentException("teacherScores[" + k + "] is " + teacherScores[k] + "; must be finite");
        }
      }
    }
  }

  /** The embedding dimension {@code d}. */
  public int dimension() {
    return query.length;
  }
}
