package dev.llmembedder.trainer.finetune;

import dev.llmembedder.trainer.train.EpochStats;
import java.util.List;

/**
 * The outcome of {@link EncoderFineTuner#fit}.
 *
 * <p><b>Thread-safety.</b> Immutable (the history is an unmodifiable copy) and thread-safe.
 *
 * @param history one entry per finished epoch, in order ({@link EpochStats#metric()} is the validation loss)
 * @param bestEpoch the epoch whose weights the tuner holds afterwards (0-based); -1 when no epoch beat the untrained
 *     model on the validation examples, whose weights are then kept
 * @param baselineValidationLoss the untrained model's mean validation loss; NaN without validation examples
 * @param stoppedEarly whether training stopped because the validation loss had not improved for {@code patience}
 *     epochs
 * @param steps optimiser steps taken
 * @param batches training batches seen (each a forward and backward pass of all its texts)
 * @param seconds wall time of training, validation included, in seconds
 */
public record FineTuneResult(List<EpochStats> history, int bestEpoch, double baselineValidationLoss,
    boolean stoppedEarly, long steps, long batches, double seconds) {
  public FineTuneResult {
    history = List.copyOf(history);
  }

  /** Training batches per second of wall time. */
  public double batchesPerSecond() {
    return batches / seconds;
  }
}
