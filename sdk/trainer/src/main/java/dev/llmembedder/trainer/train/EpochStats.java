package dev.llmembedder.trainer.train;

/**
 * What one epoch of adapter training measured.
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe.
 *
 * @param epoch 0-based
 * @param trainLoss the mean loss over the epoch's training queries, each measured when its batch was trained on
 * @param validationLoss the mean loss over the validation queries after the epoch; NaN without validation batches
 * @param metric what early stopping compares: the {@link AdapterEvaluator}'s value if there is one (higher is better),
 *     else the validation loss (lower is better); NaN when there is neither
 * @param improved whether this epoch's adapter is the best so far, the untrained one included (always true without
 *     a metric)
 */
public record EpochStats(int epoch, double trainLoss, double validationLoss, double metric, boolean improved) {}
