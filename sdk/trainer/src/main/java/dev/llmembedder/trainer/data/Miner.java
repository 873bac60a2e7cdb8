package dev.llmembedder.trainer.data;

import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.CorpusDoc;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Builds {@link Task#QA} training examples from a BEIR dataset's split (typically {@code train}) by hard-negative
 * mining: each query's positives are its relevant documents, its negatives the retriever's best-scored documents that
 * are not positive. With the default 7 negatives an example has LLM-Embedder's group of 8 keys (1 positive + 7
 * negatives) when the query has one relevant document.
 *
 * <p><b>Per query</b>, in the dataset's query order:
 * <ul>
 *   <li>positives: the documents judged {@code > 0} in the qrels, in qrels order, as key texts
 *       ({@code title + " " + text}, as {@link KnowledgeRetriever#keyText} embeds them) from the dataset's corpus, else
 *       from the retriever's index; a relevant document in neither is left out.
 *   <li>negatives: the retriever's hits for the query (its {@link Task#QA} query instruction), best first, leaving
 *       out every relevant document (by id, even one missing from the corpus) and every hit whose key text equals a
 *       positive's or an earlier negative's; the first {@link #negatives()} of what is left. Judged non-relevant
 *       documents ({@code <= 0}) may be negatives.
 *   <li>teacher scores and answers: none (the LLM's rewards come later).
 * </ul>
 * Queries that give no example are counted per {@link Skip} reason in the {@link Mined} result.
 *
 * <p><b>The index is reused</b>: the retriever is expected to hold the corpus already (built with
 * {@link dev.llmembedder.eval.KnowledgeEvaluation#index} or opened from a saved index); mining only encodes queries.
 * Its documents are the pool of negatives. With an exact index (the default below 10,000 documents) mining is
 * deterministic: the same retriever and dataset give the same examples.
 *
 * <p>Immutable and thread-safe (as the retriever is).
 */
public final class Miner {
  /** Negatives per query unless set: LLM-Embedder's group of 8 keys is 1 positive and 7 negatives. */
  public static final int DEFAULT_NEGATIVES = 7;
  /** Queries encoded per encoder call; progress is reported between calls. */
  static final int QUERY_CHUNK = 64;

  /** Why a query gave no example. */
  public enum Skip {
    /** The query's text is blank. */
    BLANK_QUERY,
    /** No document is judged relevant ({@code > 0}), or none of them has a text in the corpus or the index. */
    NO_POSITIVE,
    /** The index holds fewer than {@link Miner#negatives()} documents that may be negatives. */
    TOO_FEW_NEGATIVES
  }

  /**
   * The outcome of mining.
   *
   * @param examples one per query that gave one, in the dataset's query order
   * @param skipped how many queries gave none, per reason; every reason is a key (0 when none)
   */
  public record Mined(List<TrainingExample> examples, Map<Skip, Integer> skipped) {
    /** Copies both into unmodifiable collections; reasons missing from {@code skipped} count 0. */
    public Mined {
      examples = List.copyOf(Objects.requireNonNull(examples, "examples"));
      skipped = SkipCounts.complete(Skip.class, skipped);
    }

    /** The number of queries skipped for any reason. */
    public int skippedTotal() {
      return SkipCounts.total(skipped);
    }

    /** A summary such as {@code "809 examples, 0 skipped"}. */
    @Override
    public String toString() {
      return SkipCounts.summary(examples, skipped);
    }
  }

  private final KnowledgeRetriever retriever;
  private final int negatives;

  /** A miner of {@link #DEFAULT_NEGATIVES} negatives per query. */
  public Miner(KnowledgeRetriever retriever) {
    this(retriever, DEFAULT_NEGATIVES);
  }

  /**
   * @param retriever holds the corpus to mine negatives from; its encoder encodes the queries; not closed here
   * @param negatives hard negatives per query, at least 1
   * @throws IllegalArgumentException if {@code negatives < 1}
   */
  public Miner(KnowledgeRetriever retriever, int negatives) {
    this.retriever = Objects.requireNonNull(retriever, "retriever");
    if (negatives < 1) {
      throw new IllegalArgumentException("negatives is " + negatives + "; expected >= 1 (the paper's 7 by default)");
    }
    this.negatives = negatives;
  }

  /** The number of hard negatives per query. */
  public int negatives() {
    return negatives;
  }

  /** Mines every query of {@code dataset}; see the class documentation. */
  public Mined mine(BeirDataset dataset) {
    return mine(dataset, n -> {});
  }

  /**
   * Mines every query of {@code dataset}; see the class documentation.
   *
   * @param progress told the number of queries done after each chunk of 64 (may be a no-op); the
   *     counts add up to the number of queries
   */
  public Mined mine(BeirDataset dataset, IntConsumer progress) {
    Objects.requireNonNull(dataset, "dataset");
    Objects.requireNonNull(progress, "progress");
    List<TrainingExample> examples = new ArrayList<>(dataset.queries().size());
    Map<Skip, Integer> skipped = new EnumMap<>(Skip.class);
    List<String> ids = new ArrayList<>(dataset.queries().keySet());
    for (int from = 0; from < ids.size(); from += QUERY_CHUNK) {
      List<String> chunk = ids.subList(from, Math.min(from + QUERY_CHUNK, ids.size()));
      List<String> texts = new ArrayList<>(chunk.size());
      List<Set<String>> positiveIds = new ArrayList<>(chunk.size());
      List<List<String>> positives = new ArrayList<>(chunk.size());
      for (String id : chunk) {
        String text = dataset.queries().get(id);
        if (text.isBlank()) {
          skipped.merge(Skip.BLANK_QUERY, 1, Integer::sum);
          continue;
        }
        Set<String> relevant = new LinkedHashSet<>();
        List<String> keys = new ArrayList<>();
        dataset.qrels().get(id).forEach((docId, relevance) -> {
          if (relevance > 0) {
            relevant.add(docId);
            String key = keyText(dataset, docId);
            if (key != null) {
              keys.add(key);
            }
          }
        });
        if (keys.isEmpty()) {
          skipped.merge(Skip.NO_POSITIVE, 1, Integer::sum);
          continue;
        }
        texts.add(text);
        positiveIds.add(relevant);
        positives.add(keys);
      }
      float[][] queries = texts.isEmpty() ? new float[0][] : retriever.encoder().encodeQueries(texts, Task.QA);
      for (int i = 0; i < queries.length; i++) {
        List<String> hard = hardNegatives(queries[i], positiveIds.get(i), positives.get(i));
        if (hard.size() < negatives) {
          skipped.merge(Skip.TOO_FEW_NEGATIVES, 1, Integer::sum);
        } else {
          examples.add(new TrainingExample(texts.get(i), positives.get(i), hard, List.of(), List.of(), Task.QA));
        }
      }
      progress.accept(chunk.size());
    }
    return new Mined(examples, skipped);
  }

  /** The first {@link #negatives} usable hits, searching deeper while duplicates and positives crowd them out. */
  private List<String> hardNegatives(float[] query, Set<String> positiveIds, List<String> positiveKeys) {
    int depth = negatives + positiveIds.size();
    while (true) {
      List<DocumentHit> hits = retriever.search(query, depth);
      Set<String> seen = new HashSet<>(positiveKeys);
      List<String> out = new ArrayList<>(negatives);
      for (DocumentHit hit : hits) {
        if (positiveIds.contains(hit.document().id())) {
          continue;
        }
        String key = KnowledgeRetriever.keyText(hit.document());
        if (seen.add(key)) {
          out.add(key);
          if (out.size() == negatives) {
            return out;
          }
        }
      }
      if (hits.size() < depth || depth >= retriever.size()) {
        return out; // the index has nothing more to give
      }
      depth = (int) Math.min(Integer.MAX_VALUE, 2L * depth);
    }
  }

  private String keyText(BeirDataset dataset, String docId) {
    CorpusDoc doc = dataset.corpus().get(docId);
    if (doc != null) {
      return doc.titleAndText();
    }
    Document indexed = retriever.get(docId);
    return indexed == null ? null : KnowledgeRetriever.keyText(indexed);
  }
}
