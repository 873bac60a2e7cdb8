package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.KnowledgeEvaluation;
import dev.llmembedder.retriever.KnowledgeRetriever;
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
    try (ProgressBar bar = new ProgressBarBuilder().setTaskName("Indexing " + data.name()).setInitialMax(n)
        .setUnit(" docs", 1).showSpeed().setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(1000).build()) {
      KnowledgeEvaluation.index(retriever, data, bar::stepBy);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    embedder.commit();
    return new IndexStats(n, seconds, false);
  }
}
