package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.loss.Targets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A mini-batch for training: examples of one task (LLM-Embedder's homogeneous in-batch negatives), each with the same
 * number of candidates {@code n}. Every query is scored against every candidate of the batch, {@code double[B][B * n]}
 * in the layout of {@link dev.llmembedder.trainer.loss.ScoreLoss}: the other queries' candidates are its in-batch
 * negatives.
 *
 * <p>This is the type the training loop consumes; whoever builds batches (the {@code data} package's homogeneous
 * batching, {@link BatchEncoder}, or a test) only has to produce a {@code List<TrainingBatch>}. Immutable list; the
 * examples' arrays are shared, not copied.
 *
 * <p><b>Thread-safety.</b> An unmodifiable list of examples (see {@link EmbeddedExample} for their arrays); safe to read from several threads.
 *
 * @param task the task of every example (selects the loss, see {@link AdapterTrainer.Builder#loss(Task,
 *     dev.llmembedder.trainer.loss.ScoreLoss)})
 * @param examples at least one, all with the same dimension and number of candidates
 */
public record TrainingBatch(Task task, List<EmbeddedExample> examples) {
  /** @throws IllegalArgumentException naming the first example whose dimension or candidate count differs */
  public TrainingBatch {
    Objects.requireNonNull(task, "task");
    examples = List.copyOf(Objects.requireNonNull(examples, "examples"));
    if (examples.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one example");
    }
    EmbeddedExample first = examples.get(0);
    for (int i = 1; i < examples.size(); i++) {
      EmbeddedExample e = examples.get(i);
      if (e.dimension() != first.dimension() || e.candidates().length != first.candidates().length) {
        throw new IllegalArgumentException("example " + i + " has dimension " + e.dimension() + " and "
            + e.candidates().length + " candidates; example 0 has " + first.dimension() + " and "
            + first.candidates().length + " (a batch needs the same of both)");
      }
    }
  }

  /**
   * Cuts {@code examples} of one task into batches of {@code batchSize} (the last may be smaller), in order.
   *
   * @throws IllegalArgumentException if {@code batchSize < 1} or the examples do not fit in one batch's shape
   */
  public static List<TrainingBatch> chunk(Task task, List<EmbeddedExample> examples, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize is " + batchSize + "; must be at least 1");
    }
    List<TrainingBatch> batches = new ArrayList<>();
    for (int from = 0; from < examples.size(); from += batchSize) {
      batches.add(new TrainingBatch(task, examples.subList(from, Math.min(examples.size(), from + batchSize))));
    }
    return batches;
  }

  /** The number of queries {@code B}. */
  public int size() {
    return examples.size();
  }

  /** Candidates per query {@code n}. */
  public int candidatesPerQuery() {
    return examples.get(0).candidates().length;
  }

  /** The embedding dimension {@code d}. */
  public int dimension() {
    return examples.get(0).dimension();
  }

  /**
   * The labels for a loss: the positives when every example has one, the teacher scores when every example has them
   * (either is null otherwise).
   *
   * @throws IllegalArgumentException if the batch has neither for every example (no loss could use it)
   */
  public Targets targets() {
    int batch = examples.size();
    int[] positives = new int[batch];
    double[][] teacher = new double[batch][];
    boolean allPositives = true;
    boolean allTeacher = true;
    for (int b = 0; b < batch; b++) {
      EmbeddedExample e = examples.get(b);
      positives[b] = e.positive();
      teacher[b] = e.teacherScores();
      allPositives &= e.positive() != EmbeddedExample.NO_POSITIVE;
      allTeacher &= e.teacherScores() != null;
    }
    if (!allPositives && !allTeacher) {
      throw new IllegalArgumentException("a " + task.id() + " batch of " + batch + " examples has neither a positive"
          + " for every example nor teacher scores for every example; no loss can train on it");
    }
    return new Targets(candidatesPerQuery(), allPositives ? positives : null, allTeacher ? teacher : null);
  }
}
