package dev.llmembedder.eval;

import dev.llmembedder.retriever.Tool;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A tool collection and the query sets judged against it, as {@link ToolEvaluation} runs them: the tools are indexed
 * once and every query set is scored against that index. Immutable.
 *
 * <p><b>Thread-safety.</b> Immutable (both lists are unmodifiable copies) and thread-safe.
 *
 * @param name a label for reports, e.g. {@code "gorilla PyTorch Hub"}
 * @param tools the tools to index
 * @param querySets the query sets with their judgments; each set's corpus holds exactly the ids of {@code tools}
 */
public record ToolDataset(String name, List<Tool> tools, List<BeirDataset> querySets) {
  /** Gorilla APIBench's providers by id prefix (its {@code SOURCE.md}). */
  private static final Map<String, String> GORILLA_PROVIDERS =
      Map.of("th-", "PyTorch Hub", "tf-", "TensorFlow Hub", "hf-", "Hugging Face");

  /** @throws IllegalArgumentException if there are no tools or no query sets */
  public ToolDataset {
    Objects.requireNonNull(name, "name");
    tools = List.copyOf(tools);
    querySets = List.copyOf(querySets);
    if (tools.isEmpty() || querySets.isEmpty()) {
      throw new IllegalArgumentException("tool dataset " + name + " has " + tools.size() + " tools and "
          + querySets.size() + " query sets; needs at least one of each");
    }
  }

  /**
   * MetaTool in BEIR layout ({@code ../shared/data/metatool}): its 199 tools, with the single-tool queries
   * ({@code test}: 20,614) and the multi-tool ones ({@code test_multi_tool}: 497, two relevant tools each). A tool's
   * API is its plugin manifest (the corpus line's {@code metadata}); the source has no parameters.
   *
   * @throws IOException naming the file and line of malformed input
   */
  public static ToolDataset metaTool(Path dir) throws IOException {
    return new ToolDataset("metatool", ToolEvaluation.readTools(dir.resolve("corpus.jsonl")), List.of(
        BeirDataset.load(dir, "test"), BeirDataset.load(dir, "test_multi_tool", "queries_multi_tool.jsonl")));
  }

  /**
   * Gorilla APIBench in BEIR layout ({@code ../shared/data/gorilla_apibench}), one dataset per provider (PyTorch Hub,
   * TensorFlow Hub, Hugging Face), each with its own APIs as the pool, as Gorilla evaluates: the exact-document
   * judgments ({@code test}) and the lenient ones where every API with the same {@code api_call} counts
   * ({@code test_same_api_call}). TensorFlow Hub's {@code api_name} is mostly the literal {@code "model_id"}; such
   * tools are named by their {@code api_call} instead, as the dataset's {@code SOURCE.md} advises.
   *
   * @throws IOException naming the file and line of malformed input
   */
  public static List<ToolDataset> gorillaByProvider(Path dir) throws IOException {
    List<Tool> all = new ArrayList<>();
    for (Tool t : ToolEvaluation.readTools(dir.resolve("corpus.jsonl"))) {
      String apiCall = ToolEvaluation.apiField(t, "api_call");
      all.add(t.name().equals("model_id") && !apiCall.isEmpty()
          ? new Tool(t.id(), apiCall, t.description(), t.parameters(), t.api()) : t);
    }
    BeirDataset exact = BeirDataset.load(dir, "test");
    BeirDataset lenient = BeirDataset.load(dir, "test_same_api_call");
    List<ToolDataset> out = new ArrayList<>();
    for (String prefix : List.of("th-", "tf-", "hf-")) {
      out.add(new ToolDataset("gorilla " + GORILLA_PROVIDERS.get(prefix),
          all.stream().filter(t -> t.id().startsWith(prefix)).toList(),
          List.of(exact.withIdPrefix(prefix), lenient.withIdPrefix(prefix))));
    }
    return out;
  }
}
