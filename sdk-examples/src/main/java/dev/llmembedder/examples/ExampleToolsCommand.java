package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.ToolEvaluation;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code example-tools}: tool retrieval. First a tool catalogue in the BEIR layout (MetaTool's 199 ChatGPT plugins by
 * default, or Gorilla's 1,726 model APIs): a few of its real user requests are asked, the top tools printed (the
 * judged one marked) with the API handed back for the best. Then a small OpenAI function-calling file: its functions
 * are found by request, and each comes back as the JSON to put in the LLM request's {@code tools} list.
 */
@Command(name = "example-tools", mixinStandardHelpOptions = true,
    description = "Example: retrieve tools for user requests from a tool catalogue and from OpenAI function JSON.")
final class ExampleToolsCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--tools", defaultValue = DatasetOptions.DATA + "metatool",
      description = "Tool catalogue in the BEIR layout: corpus.jsonl ({_id, title: name, text: description, api or"
          + " metadata}), queries.jsonl, qrels/test.tsv; e.g. " + DatasetOptions.DATA + "gorilla_apibench."
          + " Default: ${DEFAULT-VALUE}.")
  Path toolsDir;

  @Option(names = "--openai-tools", defaultValue = "sdk-examples/src/main/resources/openai-tools.json",
      description = "OpenAI function-calling tools (a JSON array). Default: ${DEFAULT-VALUE}.")
  Path openAiFile;

  @Option(names = "--requests", defaultValue = "4", description = "Catalogue requests to ask. Default: ${DEFAULT-VALUE}.")
  int requests;

  @Option(names = {"-k", "--top-k"}, defaultValue = "3", description = "Tools per request. Default: ${DEFAULT-VALUE}.")
  int k;

  @Override
  public Integer call() throws Exception {
    List<Tool> tools = readTools(toolsDir);
    BeirDataset catalogue = DatasetOptions.load(toolsDir, "test"); // the requests and the judged tool of each
    DatasetOptions.requireFile(openAiFile, "OpenAI function-calling tools, e.g. sdk-examples/src/main/resources/openai-tools.json");

    try (LlmEmbedder embedder = model.embedderBuilder().build()) {
      long start = System.nanoTime();
      embedder.tools().addAll(tools); // keys: name, description, parameters, with the model's tool key instruction
      System.out.printf("%d tools of %s encoded in %.0f s%n", tools.size(), catalogue.name(),
          (System.nanoTime() - start) / 1e9);

      // requests spread over the query file (it is sorted by tool)
      List<Map.Entry<String, String>> queries = new ArrayList<>(catalogue.queries().entrySet());
      for (int i = 0; i < requests; i++) {
        Map.Entry<String, String> q = queries.get(i * queries.size() / requests);
        Map<String, Integer> judged = catalogue.qrels().get(q.getKey());
        System.out.println();
        System.out.println("Request: " + Text.abbreviate(q.getValue(), 200));
        List<ToolHit> hits = embedder.tools().retrieve(q.getValue(), k); // best first
        for (ToolHit hit : hits) {
          String mark = judged.containsKey(hit.tool().id()) ? "  <- judged right" : "";
          System.out.printf("  %.4f  %s: %s%s%n", hit.score(), hit.tool().name(),
              Text.abbreviate(hit.tool().description(), 90), mark);
        }
        String api = hits.get(0).tool().api(); // "{}" when the catalogue gives the tool no API
        System.out.println("  API of the best: " + (api.equals("{}") ? "none given" : Text.abbreviate(api, 300)));
      }

      // OpenAI function definitions: the API handed back is the function JSON as written in the file
      try (LlmEmbedder functions = LlmEmbedder.builder().encoder(embedder.encoder()).build()) { // same model, loaded once
        List<Tool> openAi = ToolRetriever.readOpenAiTools(openAiFile);
        functions.tools().addAll(openAi);
        System.out.println();
        System.out.println("=".repeat(100));
        System.out.printf("%d OpenAI functions from %s%n", openAi.size(), openAiFile);
        for (String request : List.of("Will I need an umbrella in Lisbon today?",
            "How much is 250 euros in US dollars?", "Put a team meeting on my calendar for Friday at 10.")) {
          ToolHit best = functions.tools().retrieve(request, 1).get(0);
          System.out.println();
          System.out.printf("Request: %s%n  %.4f  %s%n  tools: [%s]%n", request, best.score(), best.tool().name(),
              best.tool().api());
        }
      }
    }
    return 0;
  }

  /** The tools of a BEIR-layout catalogue ({@code corpus.jsonl}), as {@link ToolEvaluation#readTools} reads them. */
  static List<Tool> readTools(Path dir) throws IOException {
    return ToolEvaluation.readTools(DatasetOptions.requireFile(dir.resolve("corpus.jsonl"),
        "a tool catalogue in the BEIR layout, e.g. " + DatasetOptions.DATA + "metatool/corpus.jsonl"));
  }
}
