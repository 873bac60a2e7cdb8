package dev.llmembedder.trainer.train;

/**
 * Hears of training progress, on the training thread. An exception thrown here stops training; the checkpoint (if
 * any) keeps the progress up to the last one written, and a new {@code fit} with the same settings and data resumes
 * from it.
 */
public interface TrainingListener {
  /**
   * After each optimiser step (and after the checkpoint of that step, if one was due).
   *
   * @param epoch 0-based
   * @param stepInEpoch 0-based position in the epoch's shuffled order
   * @param loss the batch's loss before the step
   */
  default void onStep(int epoch, int stepInEpoch, double loss) {}

  /** After each epoch's validation (and its checkpoint, if any). */
  default void onEpoch(EpochStats stats) {}
}
