package dev.llmembedder.trainer.data;

import dev.llmembedder.encoder.Task;
import java.util.List;
import java.util.Objects;

/**
 * One training example in LLM-Embedder's format (FlagEmbedding {@code research/llm_embedder}, its {@code data/toy/}
 * files): a query, its positive and negative keys, and optionally an LLM's teacher scores for them.
 *
 * <p>Immutable and thread-safe.
 *
 * @param query the query text; not blank
 * @param positives the positive keys' texts ({@code pos}), at least one
 * @param negatives the negative keys' texts ({@code neg}); may be empty
 * @param teacherScores the LLM's reward for each candidate, positives first then negatives, in that order
 *     ({@code teacher_scores}); empty when not scored yet, else exactly {@code positives.size() + negatives.size()}
 * @param answers the expected answers ({@code answers}), the O of the reward P(O | C, q); may be empty
 * @param task which LLM-Embedder task this example belongs to; selects the instruction pair
 */
public record TrainingExample(String query, List<String> positives, List<String> negatives, List<Double> teacherScores,
    List<String> answers, Task task) {
  /** @throws IllegalArgumentException naming what is missing or inconsistent */
  public TrainingExample {
    if (query == null || query.isBlank()) {
      throw new IllegalArgumentException("query is " + (query == null ? "null" : "blank") + "; required");
    }
    positives = List.copyOf(Objects.requireNonNull(positives, "positives"));
    negatives = List.copyOf(Objects.requireNonNullElse(negatives, List.of()));
    teacherScores = List.copyOf(Objects.requireNonNullElse(teacherScores, List.of()));
    answers = List.copyOf(Objects.requireNonNullElse(answers, List.of()));
    Objects.requireNonNull(task, "task");
    if (positives.isEmpty()) {
      throw new IllegalArgumentException("example '" + query + "' has no positive; at least one is required");
    }
    if (!teacherScores.isEmpty() && teacherScores.size() != positives.size() + negatives.size()) {
      throw new IllegalArgumentException("example '" + query + "' has " + teacherScores.size() + " teacher scores for "
          + (positives.size() + negatives.size()) + " candidates (positives then negatives); expected one each");
    }
  }

  /** The candidates in teacher-score order: positives, then negatives. */
  public List<String> candidates() {
    return java.util.stream.Stream.concat(positives.stream(), negatives.stream()).toList();
  }
}
