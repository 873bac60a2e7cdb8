package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.data.TrainingExample;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Embeds batches of {@link TrainingExample}s once with a frozen encoder, for training a query adapter: each distinct
 * query text is encoded once with the task's query instruction and <em>without</em> any adapter
 * ({@link Encoder#encode}), each distinct key text once with {@link Encoder#encodeKeys}. Embeddings are cached per
 * (task instruction, text), so train and validation batches, and later calls, share them; examples that share a key
 * share its array.
 *
 * <p>Candidates follow FlagEmbedding's default {@code select_positive="first"} ({@code research/llm_embedder/src/}
 * {@code retrieval/data.py}): the first positive, then every negative; the other positives are left out, and the
 * teacher scores are the first positive's followed by the negatives'. The positive is candidate 0.
 *
 * <p>Not thread-safe (one trainer fills it); the encoder it uses is.
 */
public final class BatchEncoder {
  private final Encoder encoder;
  private final Map<CacheKey, float[]> queries = new HashMap<>();
  private final Map<CacheKey, float[]> keys = new HashMap<>();

  private record CacheKey(String instruction, String text) {}

  /** @param encoder the frozen encoder; its query adapter, if any, is not used */
  public BatchEncoder(Encoder encoder) {
    this.encoder = Objects.requireNonNull(encoder, "encoder");
  }

  /**
   * Embeds the batches, encoding only texts not cached yet (one bulk encoder call per task and side).
   *
   * @param batches each a non-empty list of examples of one task (homogeneous batches), all with the same number of
   *     negatives
   * @return one {@link TrainingBatch} per input batch, in order
   * @throws IllegalArgumentException naming the batch and example that mixes tasks or has another number of
   *     candidates
   */
  public List<TrainingBatch> encode(List<List<TrainingExample>> batches) {
    Objects.requireNonNull(batches, "batches");
    Map<Task, Set<String>> missingQueries = new HashMap<>();
    Map<Task, Set<String>> missingKeys = new HashMap<>();
    for (int i = 0; i < batches.size(); i++) {
      List<TrainingExample> batch = batches.get(i);
      if (batch == null || batch.isEmpty()) {
        throw new IllegalArgumentException("batch " + i + " is " + (batch == null ? "null" : "empty"));
      }
      Task task = batch.get(0).task();
      int negatives = batch.get(0).negatives().size();
      for (int e = 0; e < batch.size(); e++) {
        TrainingExample example = batch.get(e);
        if (example.task() != task) {
          throw new IllegalArgumentException("batch " + i + " mixes tasks: example 0 is " + task.id() + ", example "
              + e + " ('" + example.query() + "') is " + example.task().id() + "; batches must be homogeneous");
        }
        if (example.negatives().size() != negatives) {
          throw new IllegalArgumentException("batch " + i + ": example " + e + " ('" + example.query() + "') has "
              + example.negatives().size() + " negatives, example 0 has " + negatives
              + "; a batch needs the same number for every example");
        }
        if (!queries.containsKey(new CacheKey(queryInstruction(task), example.query()))) {
          missingQueries.computeIfAbsent(task, t -> new LinkedHashSet<>()).add(example.query());
        }
        for (String key : candidates(example)) {
          if (!keys.containsKey(new CacheKey(keyInstruction(task), key))) {
            missingKeys.computeIfAbsent(task, t -> new LinkedHashSet<>()).add(key);
          }
        }
      }
    }
    for (Task task : Task.values()) {
      Set<String> q = missingQueries.get(task);
      if (q != null) {
        List<String> texts = List.copyOf(q);
        float[][] embedded = encoder.encode(texts, queryInstruction(task), encoder.maxTokens()); // no adapter
        for (int i = 0; i < texts.size(); i++) {
          queries.put(new CacheKey(queryInstruction(task), texts.get(i)), embedded[i]);
        }
      }
      Set<String> k = missingKeys.get(task);
      if (k != null) {
        List<String> texts = List.copyOf(k);
        float[][] embedded = encoder.encodeKeys(texts, task);
        for (int i = 0; i < texts.size(); i++) {
          keys.put(new CacheKey(keyInstruction(task), texts.get(i)), embedded[i]);
        }
      }
    }
    List<TrainingBatch> out = new ArrayList<>(batches.size());
    for (List<TrainingExample> batch : batches) {
      Task task = batch.get(0).task();
      List<EmbeddedExample> examples = new ArrayList<>(batch.size());
      for (TrainingExample example : batch) {
        List<String> texts = candidates(example);
        float[][] candidates = new float[texts.size()][];
        for (int c = 0; c < candidates.length; c++) {
          candidates[c] = keys.get(new CacheKey(keyInstruction(task), texts.get(c)));
        }
        examples.add(new EmbeddedExample(queries.get(new CacheKey(queryInstruction(task), example.query())),
            candidates, 0, teacherScores(example)));
      }
      out.add(new TrainingBatch(task, examples));
    }
    return out;
  }

  /** Distinct query texts embedded so far. */
  public int cachedQueries() {
    return queries.size();
  }

  /** Distinct key texts embedded so far. */
  public int cachedKeys() {
    return keys.size();
  }

  private String queryInstruction(Task task) {
    return encoder.instructions().forTask(task).query();
  }

  private String keyInstruction(Task task) {
    return encoder.instructions().forTask(task).key();
  }

  /** The first positive, then the negatives. */
  static List<String> candidates(TrainingExample example) {
    List<String> texts = new ArrayList<>(1 + example.negatives().size());
    texts.add(example.positives().get(0));
    texts.addAll(example.negatives());
    return texts;
  }

  /** The first positive's score, then the negatives'; null without scores. */
  static double[] teacherScores(TrainingExample example) {
    List<Double> scores = example.teacherScores();
    if (scores.isEmpty()) {
      return null;
    }
    int positives = example.positives().size();
    double[] out = new double[1 + example.negatives().size()];
    out[0] = scores.get(0);
    for (int i = 0; i < example.negatives().size(); i++) {
      out[1 + i] = scores.get(positives + i);
    }
    return out;
  }
}
