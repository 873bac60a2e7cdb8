package dev.llmembedder.trainer.internal;

import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.loss.ScoreLoss;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * What makes a checkpoint belong to a run, for both trainers (the query adapter's and the full fine-tuner's): the
 * run's configuration as text and a fingerprint of its data. Internal to the trainer: not API. Stateless and
 * thread-safe.
 */
public final class RunIdentity {
  private RunIdentity() {}

  /** The losses of a run as text: the default loss, then each task's own ({@code "qa: ..."}). */
  public static String losses(ScoreLoss defaultLoss, Map<Task, ScoreLoss> taskLosses) {
    StringBuilder losses = new StringBuilder(describe(defaultLoss));
    taskLosses.forEach((task, loss) -> losses.append(", ").append(task.id()).append(": ").append(describe(loss)));
    return losses.toString();
  }

  private static String describe(ScoreLoss loss) {
    return loss instanceof Record ? loss.toString() : loss.getClass().getName();
  }

  /**
   * Refuses a checkpoint written by another run.
   *
   * @param kind the checkpoint's kind in messages ({@code "training"}, {@code "fine-tuning"})
   * @param owner what resumes it ({@code "trainer"}, {@code "fine-tuner"})
   * @param data what the data is ({@code "batches"}, {@code "examples"})
   * @throws IllegalArgumentException naming the checkpoint when the configuration or the data fingerprint differs
   */
  public static void requireSameRun(Path checkpoint, String kind, String owner, String data,
      String storedConfiguration, String configuration, long storedFingerprint, long fingerprint) {
    if (!storedConfiguration.equals(configuration)) {
      throw new IllegalArgumentException(kind + " checkpoint " + checkpoint + " belongs to another run: it was"
          + " trained with {" + storedConfiguration + "}, this " + owner + " has {" + configuration + "}; use the"
          + " same settings to resume, or delete the checkpoint to start afresh");
    }
    if (storedFingerprint != fingerprint) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "%s checkpoint %s was trained on other data"
          + " (fingerprint %016x, these %s %016x); pass the same %s in the same order to resume, or delete the"
          + " checkpoint to start afresh", kind, checkpoint, storedFingerprint, data, fingerprint, data));
    }
  }
}
