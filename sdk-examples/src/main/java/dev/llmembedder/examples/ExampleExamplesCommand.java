package dev.llmembedder.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.retriever.Demonstration;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code example-examples}: example retrieval. The demonstrations are the candidates of LLM-Embedder's own icl
 * training rows (paraphrase, topic, duplicate-question, reading-comprehension tasks; 20 per row, each
 * {@code "input\noutput"}); for a row's query the top ones are retrieved and rendered as a few-shot prompt. Hits
 * that the row's teacher LLM ranked among its best ("pos") are marked.
 */
@Command(name = "example-examples", mixinStandardHelpOptions = true,
    description = "Example: retrieve in-context demonstrations for a task input and render a few-shot prompt.")
final class ExampleExamplesCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--icl", defaultValue = DatasetOptions.DATA + "llm_embedder_toy/icl.jsonl",
      description = "LLM-Embedder icl rows ({query, pos: [...], neg: [...]}). Default: ${DEFAULT-VALUE}.")
  Path iclFile;

  @Option(names = "--rows", split = ",", defaultValue = "1,3",
      description = "Rows whose query to ask. Default: ${DEFAULT-VALUE}.")
  List<Integer> rows;

  @Option(names = {"-k", "--top-k"}, defaultValue = "3", description = "Demonstrations per query. Default: ${DEFAULT-VALUE}.")
  int k;

  @Override
  public Integer call() throws Exception {
    List<JsonNode> iclRows = readIclRows(iclFile);
    try (LlmEmbedder embedder = model.embedderBuilder().build()) {
      List<Demonstration> demonstrations = demonstrations(iclRows);
      embedder.examples().addAll(demonstrations); // keys: "input\noutput", with the model's icl key instruction
      System.out.printf("%d demonstrations from the %d rows of %s%n", demonstrations.size(), iclRows.size(), iclFile);

      for (int row : rows) {
        if (row < 0 || row >= iclRows.size()) {
          throw new IllegalArgumentException("--rows: " + iclFile + " has rows 0.." + (iclRows.size() - 1));
        }
        String input = iclRows.get(row).get("query").asText();
        List<ExampleHit> hits = embedder.examples().retrieve(input, k); // best first
        System.out.println();
        System.out.println("=".repeat(100));
        System.out.println("Input (row " + row + "): " + Text.abbreviate(input, 200));
        for (ExampleHit hit : hits) {
          String id = hit.demonstration().id();
          String mark = id.startsWith("r" + row + "-pos") ? "  <- the teacher's pick for this input" : "";
          System.out.printf("  %.4f  %s%s%n", hit.score(), id, mark);
        }
        System.out.println("-".repeat(100));
        // the few-shot prompt: the demonstrations, then the new input for the LLM to complete
        System.out.println(ExampleRetriever.render(hits, ExampleRetriever.DEFAULT_TEMPLATE)
            + "\n\nInput: " + input + "\nOutput:");
      }
    }
    return 0;
  }

  /** The rows of an LLM-Embedder icl.jsonl file. */
  static List<JsonNode> readIclRows(Path file) throws IOException {
    DatasetOptions.requireFile(file, "LLM-Embedder's icl rows, e.g. " + DatasetOptions.DATA + "llm_embedder_toy/icl.jsonl");
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> rows = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (!line.isBlank()) {
        rows.add(json.readTree(line));
      }
    }
    return rows;
  }

  /**
   * Every candidate of every row as a demonstration, id {@code r<row>-pos<i>} or {@code r<row>-neg<i>}: a candidate
   * is the task input, a newline and the answer. (Your own: {@code ExampleRetriever.readJsonl(path)} reads
   * {@code {"input", "output"}} lines.)
   */
  static List<Demonstration> demonstrations(List<JsonNode> rows) {
    List<Demonstration> out = new ArrayList<>();
    for (int r = 0; r < rows.size(); r++) {
      for (String list : List.of("pos", "neg")) {
        JsonNode candidates = rows.get(r).path(list);
        for (int i = 0; i < candidates.size(); i++) {
          String text = candidates.get(i).asText();
          int split = text.lastIndexOf('\n');
          out.add(new Demonstration("r" + r + "-" + list + i, rows.get(r).path("task").asText(""), "",
              text.substring(0, Math.max(split, 0)), text.substring(split + 1)));
        }
      }
    }
    return out;
  }
}
