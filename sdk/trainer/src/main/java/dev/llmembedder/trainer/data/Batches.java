package dev.llmembedder.trainer.data;

import dev.llmembedder.encoder.Task;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Homogeneous mini-batches, as LLM-Embedder trains (its {@code SameDatasetTrainDataset}, organize method
 * {@code epoch}): every batch holds examples of one {@link Task} only, so that the in-batch negatives of a query are
 * keys of the same kind (passages for a question, not tool descriptions).
 *
 * <p><b>An epoch</b> ({@link #epoch}): the examples are grouped by task (tasks in {@link Task} order, each group in
 * input order); each group is shuffled and cut into batches of {@link #batchSize()} examples, the last one
 * possibly smaller (kept or dropped per {@link #last()}); then the batches of all tasks are shuffled together. A
 * task with fewer examples than the batch size gives one partial batch, or none when it is dropped.
 *
 * <p><b>Reproducible</b>: the shuffles draw from {@link Random} (whose algorithm Java specifies) seeded from
 * {@link #seed()} and the epoch number, so the same examples in the same order, the same settings and the same epoch
 * give the same batches on every JVM; different epochs give different batches.
 *
 * <p>Immutable and thread-safe.
 *
 * @param batchSize examples per batch, at least 1 (LLM-Embedder's per-device batch size)
 * @param last whether a task's last, smaller batch is kept or dropped (LLM-Embedder drops it)
 * @param seed the seed of the shuffles
 */
public record Batches(int batchSize, LastBatch last, long seed) {
  /** What to do with a task's last batch when it holds fewer than {@link #batchSize()} examples. */
  public enum LastBatch {
    /** Keep it: every example is in exactly one batch of the epoch. */
    KEEP,
    /** Drop it: every batch is full; up to {@code batchSize - 1} examples per task sit the epoch out. */
    DROP
  }

  /**
   * A batch: examples of one task.
   *
   * @param task the task of every example
   * @param examples at least one, at most {@link Batches#batchSize()}
   */
  public record Batch(Task task, List<TrainingExample> examples) {
    /** @throws IllegalArgumentException if {@code examples} is empty or holds an example of another task */
    public Batch {
      Objects.requireNonNull(task, "task");
      examples = List.copyOf(Objects.requireNonNull(examples, "examples"));
      if (examples.isEmpty()) {
        throw new IllegalArgumentException("batch of task " + task.id() + " is empty; expected at least one example");
      }
      for (TrainingExample example : examples) {
        if (example.task() != task) {
          throw new IllegalArgumentException("batch of task " + task.id() + " holds an example of task "
              + example.task().id() + " ('" + example.query() + "'); a batch holds one task");
        }
      }
    }

    /** The number of examples. */
    public int size() {
      return examples.size();
    }
  }

  /** @throws IllegalArgumentException if {@code batchSize < 1} */
  public Batches {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize is " + batchSize + "; expected >= 1");
    }
    Objects.requireNonNull(last, "last");
  }

  /**
   * The batches of one epoch (see the class documentation).
   *
   * @param examples the training examples; not modified
   * @param epoch the epoch number, from 0; each gives its own order
   * @return the batches in training order; empty when every task has fewer examples than the batch size and
   *     partial batches are dropped
   * @throws IllegalArgumentException if {@code epoch} is negative
   * @throws NullPointerException if {@code examples} is or holds null
   */
  public List<Batch> epoch(List<TrainingExample> examples, int epoch) {
    Objects.requireNonNull(examples, "examples");
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch is " + epoch + "; expected >= 0");
    }
    Map<Task, List<TrainingExample>> byTask = new EnumMap<>(Task.class);
    for (int i = 0; i < examples.size(); i++) {
      TrainingExample example = examples.get(i);
      if (example == null) {
        throw new NullPointerException("examples holds null at position " + i);
      }
      byTask.computeIfAbsent(example.task(), t -> new ArrayList<>()).add(example);
    }
    Random random = new Random(mix(seed, epoch));
    List<Batch> batches = new ArrayList<>();
    for (Map.Entry<Task, List<TrainingExample>> group : byTask.entrySet()) {
      List<TrainingExample> shuffled = group.getValue();
      Collections.shuffle(shuffled, random);
      for (int from = 0; from < shuffled.size(); from += batchSize) {
        int to = Math.min(from + batchSize, shuffled.size());
        if (to - from == batchSize || last == LastBatch.KEEP) {
          batches.add(new Batch(group.getKey(), shuffled.subList(from, to)));
        }
      }
    }
    Collections.shuffle(batches, random);
    return List.copyOf(batches);
  }

  /**
   * The number of batches per epoch for {@code examples} (the same for every epoch).
   *
   * @throws NullPointerException if {@code examples} is or holds null
   */
  public int batchesPerEpoch(List<TrainingExample> examples) {
    Map<Task, Integer> counts = new EnumMap<>(Task.class);
    for (TrainingExample example : Objects.requireNonNull(examples, "examples")) {
      counts.merge(Objects.requireNonNull(example, "examples holds null").task(), 1, Integer::sum);
    }
    int n = 0;
    for (int count : counts.values()) {
      n += last == LastBatch.KEEP ? (count + batchSize - 1) / batchSize : count / batchSize;
    }
    return n;
  }

  /** A well-spread seed for (seed, epoch): SplitMix64's finaliser, so that nearby seeds give unrelated orders. */
  private static long mix(long seed, int epoch) {
    long z = seed + (epoch + 1) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
