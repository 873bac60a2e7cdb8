package dev.llmembedder.eval;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.testing.SharedData;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * Retrieval quality on real data, so that it cannot regress silently: all 300 SciFact test queries against their
 * judged documents plus 2,000 other abstracts (the full 5,183 take too long on 2 cores for every CI run; the README's
 * table has the full-corpus figures from {@code llm-embedder eval}). Removing non-relevant documents can only move
 * relevant ones up, so the published full-corpus nDCG@10 (MTEB, BAAI/bge-small-en-v1.5 on SciFact test: 0.7127) minus
 * the allowed margin is a lower bound that a correct encoder must clear here too.
 */
class SciFactRetrievalTest {
  private static final double PUBLISHED_NDCG_AT_10 = 0.7127;

  private static EvalReport evaluate(ModelPreset preset) throws IOException {
    BeirDataset data = BeirDataset.load(SharedData.require("data/scifact"), "test").subset(2_000, 42);
    try (Encoder encoder = Encoder.load(preset); DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
      KnowledgeRetriever retriever = new KnowledgeRetriever(encoder, index);
      KnowledgeEvaluation.index(retriever, data, n -> { });
      EvalReport report = KnowledgeEvaluation.evaluate(retriever, data, 100,
          encoder.instructions().forTask(Task.QA).query());
      System.out.printf("SciFact test, %d queries x %d docs, %s: %s%n", report.queries(), data.corpus().size(),
          preset.modelName(), report);
      return report;
    }
  }

  @Test
  void fp32PresetClearsThePublishedNdcgMinusFiveThousandths() throws IOException {
    double ndcg = evaluate(ModelPreset.BGE_SMALL_EN_V15).ndcg(10);
    assertTrue(ndcg >= PUBLISHED_NDCG_AT_10 - 0.005, "nDCG@10 " + ndcg + " < " + (PUBLISHED_NDCG_AT_10 - 0.005));
  }

  @Test
  void int8PresetClearsThePublishedNdcgMinusFifteenThousandths() throws IOException {
    double ndcg = evaluate(ModelPreset.BGE_SMALL_EN_V15_INT8).ndcg(10);
    assertTrue(ndcg >= PUBLISHED_NDCG_AT_10 - 0.015, "nDCG@10 " + ndcg + " < " + (PUBLISHED_NDCG_AT_10 - 0.015));
  }
}
