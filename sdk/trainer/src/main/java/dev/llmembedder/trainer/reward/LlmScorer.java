package dev.llmembedder.trainer.reward;

import java.util.List;

/**
 * Scores how likely an LLM finds an expected answer after a candidate and a query: LLM-Embedder's reward
 * r = P(O | C, q) = prod_i P(o_i | C, q, o_&lt;i), on a log scale. The LLM reads {@link RewardPrompt prompt} + answer;
 * only the answer's tokens are scored, never the prompt's.
 *
 * <p>Implementations: {@link OnnxCausalLmScorer} (in process) and {@link OpenAiCompletionsScorer} (a server).
 * Both are thread-safe and hold resources: {@link #close()} them.
 *
 * <p>Source: Zhang et al., "Retrieve Anything To Augment Large Language Models" (arXiv:2310.07554), section 3.1.
 */
public interface LlmScorer extends AutoCloseable {

  /**
   * The log-probabilities of each request's answer tokens.
   *
   * @param requests any number, scored in batches
   * @return one entry per request, in input order
   * @throws IllegalArgumentException naming the request index when a request cannot be scored (too long for the
   *     model, an answer with no tokens)
   * @throws IllegalStateException if the scorer is closed or the model or server fails
   */
  List<AnswerLogProbs> logProbs(List<ScoreRequest> requests);

  /** How {@link #score(List)} reduces the answer tokens' log-probabilities. */
  LogProbReduction reduction();

  /**
   * The rewards of {@code requests}: each answer's log-probabilities reduced by {@link #reduction()} (log P(O | C, q)
   * in nats for {@link LogProbReduction#SUM}, its per-token mean for {@link LogProbReduction#MEAN}).
   *
   * @return {@code double[requests.size()]} in input order, each at most 0
   * @throws IllegalArgumentException see {@link #logProbs(List)}
   * @throws IllegalStateException see {@link #logProbs(List)}
   */
  default double[] score(List<ScoreRequest> requests) {
    List<AnswerLogProbs> all = logProbs(requests);
    double[] out = new double[all.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = all.get(i).reduce(reduction());
    }
    return out;
  }

  /** The reward of one request; see {@link #score(List)}. */
  default double score(ScoreRequest request) {
    return score(List.of(request))[0];
  }

  /** Releases the model or the HTTP client; scoring afterwards fails. Idempotent. */
  @Override
  void close();
}
