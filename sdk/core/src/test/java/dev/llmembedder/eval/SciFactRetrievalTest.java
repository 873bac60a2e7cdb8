package dev.llmembedder.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.index.IndexHit;
import dev.llmembedder.index.SearchMode;
import dev.llmembedder.index.VectorIndex;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.testing.SharedData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Retrieval quality on real data, so that it cannot regress silently: all 300 SciFact test queries against their
 * judged documents plus 2,000 other abstracts (the full 5,183 take too long on 2 cores for every CI run; the README's
 * table has the full-corpus figures from {@code llm-embedder eval}). Removing non-relevant documents can only move
 * relevant ones up, so the published full-corpus nDCG@10 (MTEB, BAAI/bge-small-en-v1.5 on SciFact test: 0.7127) minus
 * the allowed margin is a lower bound that a correct encoder must clear here too. That bound alone is loose (the subset
 * scores about 0.78), so each preset is also pinned to the subset figure this encoder gave when the same code
 * reproduced the published full-corpus figure (fp32 0.7127, int8 0.7061 to 0.7069 with the BGE instruction, README).
 */
class SciFactRetrievalTest {
  private static final double PUBLISHED_NDCG_AT_10 = 0.7127;
  /** nDCG@10 on this subset (seed 42) when the full corpus gave 0.7127 (fp32) and 0.7061 (int8). */
  private static final double SUBSET_NDCG_AT_10_FP32 = 0.77844;
  private static final double SUBSET_NDCG_AT_10_INT8 = 0.77502;

  private static EvalReport evaluate(ModelPreset preset, boolean checkGraphRecall) throws IOException {
    BeirDataset data = BeirDataset.load(SharedData.require("data/scifact"), "test").subset(2_000, 42);
    List<Document> passages = new ArrayList<>();
    data.corpus().values().forEach(d -> passages.add(new Document(d.id(), d.title(), d.text(), Map.of())));
    try (Encoder encoder = Encoder.load(preset); DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
      float[][] keys = encoder.encodeKeys(passages.stream().map(KnowledgeRetriever::keyText).toList(), Task.QA);
      index.addAll(passages, keys);
      KnowledgeRetriever retriever = new KnowledgeRetriever(encoder, index);
      String instruction = encoder.instructions().forTask(Task.QA).query();
      EvalReport report = KnowledgeEvaluation.evaluate(retriever, data, 100, instruction);
      System.out.printf("SciFact test, %d queries x %d docs, %s: %s%n", report.queries(), data.corpus().size(),
          preset.modelName(), report);
      if (checkGraphRecall) {
        float[][] queries = encoder.encode(List.copyOf(data.queries().values()), instruction, encoder.maxTokens());
        assertGraphRecall(passages, keys, queries);
      }
      return report;
    }
  }

  /** Recall@10 of the jvector graph against exact search on these real embeddings. */
  private static void assertGraphRecall(List<Document> passages, float[][] keys, float[][] queries) {
    List<String> ids = passages.stream().map(Document::id).toList();
    try (VectorIndex graph = VectorIndex.builder(keys[0].length).searchMode(SearchMode.GRAPH).build();
        VectorIndex exact = VectorIndex.builder(keys[0].length).searchMode(SearchMode.EXACT).build()) {
      graph.addAll(ids, keys);
      exact.addAll(ids, keys);
      int found = 0;
      for (float[] q : queries) {
        Set<String> truth = new HashSet<>();
        exact.search(q, 10).forEach(h -> truth.add(h.id()));
        for (IndexHit hit : graph.search(q, 10)) {
          found += truth.contains(hit.id()) ? 1 : 0;
        }
      }
      double recall = found / (10.0 * queries.length);
      System.out.printf("graph recall@10 against exact search on %d real SciFact embeddings: %.4f%n", ids.size(),
          recall);
      assertTrue(recall >= 0.95, "graph recall@10 " + recall + " < 0.95");
    }
  }

  @Test
  void fp32PresetClearsThePublishedNdcgMinusFiveThousandthsAndTheGraphFindsTheExactNeighbours() throws IOException {
    double ndcg = evaluate(ModelPreset.BGE_SMALL_EN_V15, true).ndcg(10);
    assertTrue(ndcg >= PUBLISHED_NDCG_AT_10 - 0.005, "nDCG@10 " + ndcg + " < " + (PUBLISHED_NDCG_AT_10 - 0.005));
    assertEquals(SUBSET_NDCG_AT_10_FP32, ndcg, 0.005, "nDCG@10 on the subset moved");
  }

  @Test
  void int8PresetClearsThePublishedNdcgMinusFifteenThousandths() throws IOException {
    double ndcg = evaluate(ModelPreset.BGE_SMALL_EN_V15_INT8, false).ndcg(10);
    assertTrue(ndcg >= PUBLISHED_NDCG_AT_10 - 0.015, "nDCG@10 " + ndcg + " < " + (PUBLISHED_NDCG_AT_10 - 0.015));
    // int8 embeddings depend slightly on batch composition (dynamic quantisation), hence the wider band
    assertEquals(SUBSET_NDCG_AT_10_INT8, ndcg, 0.01, "nDCG@10 on the subset moved");
  }
}
