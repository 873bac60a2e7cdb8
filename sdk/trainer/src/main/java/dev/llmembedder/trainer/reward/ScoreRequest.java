package dev.llmembedder.trainer.reward;

/**
 * One thing to score: how likely the LLM finds {@code answer} after the prompt made of {@code candidate} and
 * {@code query} (see {@link RewardPrompt}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param candidate the candidate key C (a passage, demonstration, tool description, memory chunk); not null, may be
 *     empty (the no-retrieval baseline P(O | q))
 * @param query the query q; not null, may be empty
 * @param answer the expected answer O, appended after the prompt as it is (no space or separator is added); not null
 *     and not empty, since an empty answer has probability 1 under every candidate and carries no reward signal
 */
public record ScoreRequest(String candidate, String query, String answer) {
  /** @throws IllegalArgumentException naming the null field, or saying the answer is empty */
  public ScoreRequest {
    if (candidate == null) {
      throw new IllegalArgumentException("candidate is null; use \"\" for no candidate");
    }
    if (query == null) {
      throw new IllegalArgumentException("query is null");
    }
    if (answer == null || answer.isEmpty()) {
      throw new IllegalArgumentException("answer is " + (answer == null ? "null" : "empty")
          + "; the reward P(answer | candidate, query) needs at least one answer token");
    }
  }
}
