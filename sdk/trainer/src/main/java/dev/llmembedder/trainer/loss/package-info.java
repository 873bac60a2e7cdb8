/**
 * Losses on student scores, each giving its value and its gradient with respect to the scores, so that the chain rule
 * can continue into any model (the {@code train} package continues it into a query adapter).
 *
 * <p>All three follow LLM-Embedder (Zhang et al., "Retrieve Anything To Augment Large Language Models",
 * arXiv:2310.07554, Section 3) as FlagEmbedding implements it ({@code research/llm_embedder/src/retrieval/}
 * {@code modeling_dense.py}, {@code DenseRetriever._compute_loss}):
 * <ul>
 *   <li>{@link dev.llmembedder.trainer.loss.InfoNceLoss}: contrastive learning on the hard label with homogeneous
 *       in-batch negatives;
 *   <li>{@link dev.llmembedder.trainer.loss.StabilizedDistillationLoss}: the paper's stabilized distillation of the
 *       LLM's rewards, rank by rank;
 *   <li>{@link dev.llmembedder.trainer.loss.KlDistillationLoss}: plain KL distillation of the rewards;
 *   <li>{@link dev.llmembedder.trainer.loss.CompositeLoss}: a weighted sum (LLM-Embedder adds contrastive and
 *       distillation losses with weights 0.2 and 1.0).
 * </ul>
 *
 * <p>Scores are laid out as {@code double[batch][batch * n]} ({@link dev.llmembedder.trainer.loss.ScoreLoss}): every
 * query of a batch against every candidate key of the batch, {@code n} candidates per query.
 */
package dev.llmembedder.trainer.loss;
