package dev.llmembedder.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a tool-retrieval dataset in BEIR layout (MetaTool, Gorilla APIBench) through a {@link ToolRetriever}: add its
 * tools, retrieve for its queries, score the run with {@link RetrievalMetrics} (nDCG@5 and Recall@5 are the headline
 * figures, as in LLM-Embedder's tool evaluation). Stateless and thread-safe.
 */
public final class ToolEvaluation {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Tools added per encoder call. */
  static final int INDEX_CHUNK = 256;

  private ToolEvaluation() {}

  /**
   * Reads the tools of a BEIR-layout corpus ({@code corpus.jsonl}): id {@code _id}, name {@code title}, description
   * {@code text}, and as the API the {@code api} field (a JSON object or a string holding one, as in Gorilla
   * APIBench) or else the {@code metadata} object (MetaTool's plugin manifest); parameters are read from the API as
   * {@link Tool#of} does.
   *
   * @throws IOException naming the file, line and field of a malformed line
   */
  public static List<Tool> readTools(Path corpusFile) throws IOException {
    return BeirFiles.readTools(corpusFile);
  }

  /**
   * Adds the dataset's tools to {@code retriever}, in chunks.
   *
   * @return how many were added
   */
  public static int index(ToolRetriever retriever, ToolDataset data) {
    List<Tool> tools = data.tools();
    for (int from = 0; from < tools.size(); from += INDEX_CHUNK) {
      retriever.addAll(tools.subList(from, Math.min(tools.size(), from + INDEX_CHUNK)));
    }
    return tools.size();
  }

  /** A top-level string field of a tool's API JSON, or {@code ""}. */
  static String apiField(Tool tool, String field) {
    try {
      JsonNode value = JSON.readTree(tool.api()).path(field);
      return value.isTextual() ? value.textValue() : "";
    } catch (JsonProcessingException e) {
      return "";
    }
  }

  /**
   * Encodes the dataset's queries for {@link #evaluate(ToolRetriever, BeirDataset, float[][])}.
   *
   * @param queryInstruction prepended to every query: the model's own tool query instruction, {@code ""}, or any other;
   *     the encoder's query adapter, if it has one, is applied after it as in retrieval
   * @return {@code [data.queries().size()][dimension]}, in the order of {@code data.queries()}
   */
  public static float[][] encodeQueries(ToolRetriever retriever, BeirDataset data, String queryInstruction) {
    List<String> texts = new ArrayList<>(data.queries().values());
    Encoder encoder = retriever.encoder();
    float[][] queries = encoder.encode(texts, queryInstruction, encoder.maxTokens());
    return encoder.queryAdapter().map(a -> a.applyAll(queries)).orElse(queries);
  }

  /**
   * Retrieves the top 10 tools for every query and scores them at cutoffs 1, 3, 5 and 10 (nDCG, Recall, MRR,
   * Precision).
   *
   * @param queries the dataset's encoded queries, from {@link #encodeQueries}
   * @throws IllegalArgumentException if {@code queries} does not hold one embedding per query
   */
  public static EvalReport evaluate(ToolRetriever retriever, BeirDataset data, float[][] queries) {
    List<String> ids = new ArrayList<>(data.queries().keySet());
    if (queries.length != ids.size()) {
      throw new IllegalArgumentException(queries.length + " query embeddings for " + ids.size() + " queries of "
          + data.name());
    }
    Map<String, Map<String, Double>> run = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      Map<String, Double> scores = new HashMap<>();
      for (ToolHit hit : retriever.search(queries[i], 10)) {
        scores.put(hit.tool().id(), (double) hit.score());
      }
      run.put(ids.get(i), scores);
    }
    return RetrievalMetrics.evaluateScores(data.qrels(), run, 1, 3, 5, 10);
  }
}
