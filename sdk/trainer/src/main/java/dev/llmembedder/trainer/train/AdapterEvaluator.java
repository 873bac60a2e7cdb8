package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.QueryAdapter;

/**
 * Scores an adapter after each epoch for early stopping, in place of the validation loss: for example Recall@10 or
 * nDCG@10 on held-out queries, with {@link QueryAdapter#apply} on their unadapted embeddings. Higher is better. Called
 * on the training thread; it must be deterministic for training to be reproducible.
 */
@FunctionalInterface
public interface AdapterEvaluator {
  /**
   * @param adapter the adapter after the epoch (float weights, as it would be saved)
   * @return the score, finite; higher is better
   */
  double evaluate(QueryAdapter adapter);
}
