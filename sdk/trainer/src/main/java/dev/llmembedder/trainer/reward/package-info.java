/**
 * Rewards from an LLM: the reward of a candidate key C (a passage, a demonstration, a tool, a memory chunk) for a query
 * q with expected answer O is LLM-Embedder's r = P(O | C, q), the product over O's tokens of P(o_i | C, q, o_&lt;i),
 * kept as a sum of log-probabilities (or their mean, see {@link dev.llmembedder.trainer.reward.LogProbReduction}).
 *
 * <p>{@link dev.llmembedder.trainer.reward.LlmScorer} is the interface, with two implementations:
 * {@link dev.llmembedder.trainer.reward.OnnxCausalLmScorer} runs a causal LM exported to ONNX in process, and
 * {@link dev.llmembedder.trainer.reward.OpenAiCompletionsScorer} asks an OpenAI-compatible completions server (vLLM)
 * for the echoed prompt's log-probabilities. {@link dev.llmembedder.trainer.reward.RewardPrompt} lays out the text
 * before the answer; {@link dev.llmembedder.trainer.reward.TeacherScoring} fills a training example's teacher scores.
 *
 * <p>Source: Zhang et al., "Retrieve Anything To Augment Large Language Models" (arXiv:2310.07554), section 3.1
 * (reward from the LLM); FlagEmbedding {@code research/llm_embedder}.
 */
package dev.llmembedder.trainer.reward;
