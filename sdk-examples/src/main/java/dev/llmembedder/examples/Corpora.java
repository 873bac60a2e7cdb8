package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.KnowledgeEvaluation;
import dev.llmembedder.retriever.KnowledgeRetriever;
import java.util.LinkedHashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Loading BEIR datasets and indexing their corpora with a progress bar; shared by the commands. */
final class Corpora {
  private Corpora() {}

  /** The outcome of {@link #ensureIndexed}: how long indexing took, or that a saved index was reused. */
  record IndexStats(int docs, double seconds, boolean reused) {
    double docsPerSecond() {
      return seconds > 0 ? docs / seconds : Double.NaN;
    }
  }

  /**
   * Adds the corpus to the embedder's knowledge unless it already holds every document (a saved index being reused),
   * with a progress bar showing docs/s and the ETA, then commits.
   */
  static IndexStats ensureIndexed(LlmEmbedder embedder, BeirDataset data) {
    KnowledgeRetriever retriever = embedder.knowledge();
    int n = data.corpus().size();
    if (retriever.size() == n && data.corpus().keySet().stream().allMatch(id -> retriever.get(id) != null)) {
      return new IndexStats(n, 0, true);
    }
    long start = System.nanoTime();
    try (ProgressBar bar = progressBar("Indexing " + data.name(), n, " docs")) {
      KnowledgeEvaluation.index(retriever, data, bar::stepBy);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    embedder.commit();
    return new IndexStats(n, seconds, false);
  }

  /** A console progress bar with speed and ETA, updated every second. */
  static ProgressBar progressBar(String task, long max, String unit) {
    return new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setUnit(unit, 1).showSpeed()
        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(1000).build();
  }

  /**
   * A small slice of {@code data} that indexes quickly: its first {@code questions} queries, the documents judged for
   * them and {@code extraDocs} other documents drawn at random (a fixed seed, so every run gets the same ones).
   */
  static BeirDataset sample(BeirDataset data, int questions, int extraDocs) {
    Map<String, String> queries = new LinkedHashMap<>();
    Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
    data.queries().entrySet().stream().limit(questions).forEach(q -> {
      queries.put(q.getKey(), q.getValue());
      qrels.put(q.getKey(), data.qrels().get(q.getKey()));
    });
    return new BeirDataset(data.name(), data.corpus(), queries, qrels, data.split()).subset(extraDocs, 42);
  }
}
