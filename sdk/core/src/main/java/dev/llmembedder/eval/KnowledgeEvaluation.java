package dev.llmembedder.eval;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Runs a {@link BeirDataset} through a {@link KnowledgeRetriever}: index its corpus, retrieve for its queries, score
 * the run against its qrels with {@link RetrievalMetrics}. Stateless and thread-safe.
 */
public final class KnowledgeEvaluation {
  /**
   * Passages added per encoder call while indexing; progress is reported between calls. Large enough for the
   * encoder's length sorting to group passages of similar length.
   */
  static final int INDEX_CHUNK = 256;

  private KnowledgeEvaluation() {}

  /**
   * Adds the dataset's whole corpus to {@code retriever} ({@code title} and {@code text} kept apart; the retriever
   * embeds {@code title + " " + text}).
   *
   * @param progress told the number of passages added after each chunk (may be a no-op)
   */
  public static void index(KnowledgeRetriever retriever, BeirDataset data, IntConsumer progress) {
    List<Document> chunk = new ArrayList<>(INDEX_CHUNK);
    for (CorpusDoc doc : data.corpus().values()) {
      chunk.add(new Document(doc.id(), doc.title(), doc.text(), Map.of()));
      if (chunk.size() == INDEX_CHUNK) {
        retriever.addAll(chunk);
        progress.accept(chunk.size());
        chunk.clear();
      }
    }
    if (!chunk.isEmpty()) {
      retriever.addAll(chunk);
      progress.accept(chunk.size());
    }
  }

  /**
   * Retrieves the top {@code depth} passages for every query of the dataset and scores them: nDCG@10, Recall@100,
   * MRR@10 and the other cutoffs {@link RetrievalMetrics} reports, as MTEB does for retrieval.
   *
   * @param depth how many passages to retrieve per query; at least 100 for Recall@100 to mean what it says
   * @param queryInstruction prepended to every query: the model's own
   *     ({@code encoder.instructions().forTask(Task.QA).query()}), {@code ""} for none, or any other to compare; the
   *     encoder's query adapter, if it has one, is applied after it as in retrieval
   */
  public static EvalReport evaluate(KnowledgeRetriever retriever, BeirDataset data, int depth,
      String queryInstruction) {
    List<String> ids = new ArrayList<>(data.queries().keySet());
    List<String> texts = ids.stream().map(data.queries()::get).toList();
    Encoder encoder = retriever.encoder();
    float[][] encoded = encoder.encode(texts, queryInstruction, encoder.maxTokens());
    float[][] queries = encoder.queryAdapter().map(a -> a.applyAll(encoded)).orElse(encoded);
    Map<String, Map<String, Double>> run = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      Map<String, Double> scores = new HashMap<>();
      for (DocumentHit hit : retriever.search(queries[i], depth)) {
        scores.put(hit.document().id(), (double) hit.score());
      }
      run.put(ids.get(i), scores);
    }
    return RetrievalMetrics.evaluateScores(data.qrels(), run, 1, 3, 5, 10, 100);
  }
}
