/**
 * Training a query adapter ({@link dev.llmembedder.encoder.QueryAdapter}, {@code q' = normalize(W q + b)}) on a
 * frozen encoder's embeddings, in plain Java.
 *
 * <ul>
 *   <li>{@link dev.llmembedder.trainer.train.TrainingBatch} and {@link dev.llmembedder.trainer.train.EmbeddedExample}:
 *       what the loop consumes, a homogeneous (one-task) batch of embedded queries with their candidate keys, the
 *       positive's index and/or the teacher's scores. Any batching (the {@code data} package's) plugs in by producing
 *       a {@code List<TrainingBatch>};
 *   <li>{@link dev.llmembedder.trainer.train.BatchEncoder}: embeds batches of
 *       {@link dev.llmembedder.trainer.data.TrainingExample}s once (queries without any adapter, keys once each);
 *   <li>{@link dev.llmembedder.trainer.train.AdapterTrainer}: forward, loss
 *       ({@link dev.llmembedder.trainer.loss}), analytic backward, AdamW, seeded epochs, checkpoints and resume, early
 *       stopping on validation loss or an {@link dev.llmembedder.trainer.train.AdapterEvaluator}.
 * </ul>
 */
package dev.llmembedder.trainer.train;
