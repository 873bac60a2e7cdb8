package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.QueryAdapter;
import java.util.List;

/**
 * The outcome of {@link AdapterTrainer#fit}.
 *
 * <p><b>Thread-safety.</b> Immutable (the history is an unmodifiable copy) and thread-safe.
 *
 * @param adapter the best adapter by the early-stopping metric (the last one when there is no metric); save it with
 *     {@link QueryAdapter#save} and load it with {@code Encoder.Builder.queryAdapter(Path)}
 * @param history one entry per finished epoch, in order
 * @param bestEpoch the epoch {@code adapter} comes from (0-based); -1 when no epoch beat the untrained adapter, which
 *     is then the result
 * @param baselineMetric the early-stopping metric of the untrained (identity) adapter; NaN without validation batches
 *     and evaluator
 * @param stoppedEarly whether training stopped because the metric had not improved for {@code patience} epochs
 * @param steps optimiser steps taken in all
 */
public record TrainingResult(QueryAdapter adapter, List<EpochStats> history, int bestEpoch, double baselineMetric,
    boolean stoppedEarly, long steps) {
  public TrainingResult {
    history = List.copyOf(history);
  }
}
