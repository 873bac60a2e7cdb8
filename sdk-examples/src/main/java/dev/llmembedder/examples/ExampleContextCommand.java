package dev.llmembedder.examples;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.context.PromptContext;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.MemoryRetriever.Settings;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code example-context}: all retrievers in one prompt context. One embedder holds knowledge (a SciFact sample),
 * a conversation memory (a dialogue of LLM-Embedder's chat data), demonstrations (its icl rows) and tools (MetaTool's
 * plugins); one {@code embedder.context(query)...build()} call consults them and {@code render()} gives the prompt
 * text. The four come from unrelated data sets, so for a science question the memory section is only the nearest
 * turn, not a relevant one; in an application they would all serve one domain.
 */
@Command(name = "example-context", mixinStandardHelpOptions = true,
    description = "Example: knowledge, memory, examples and tools in one prompt context.")
final class ExampleContextCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Mixin DatasetOptions datasetOptions;

  @Option(names = "--chat", defaultValue = DatasetOptions.DATA + "llm_embedder_toy/chat.jsonl",
      description = "LLM-Embedder chat rows; row 0's dialogue becomes the memory. Default: ${DEFAULT-VALUE}.")
  Path chatFile;

  @Option(names = "--icl", defaultValue = DatasetOptions.DATA + "llm_embedder_toy/icl.jsonl",
      description = "LLM-Embedder icl rows, the demonstrations. Default: ${DEFAULT-VALUE}.")
  Path iclFile;

  @Option(names = "--tools", defaultValue = DatasetOptions.DATA + "metatool",
      description = "Tool catalogue in the BEIR layout. Default: ${DEFAULT-VALUE}.")
  Path toolsDir;

  @Option(names = "--extra-docs", defaultValue = "200",
      description = "SciFact abstracts indexed besides the ones judged for its first 3 test claims (the sample of"
          + " example-knowledge). Default: ${DEFAULT-VALUE}.")
  int extraDocs;

  @Option(names = "--max-tokens", defaultValue = "1200",
      description = "Token budget of the rendered context. Default: ${DEFAULT-VALUE}.")
  int maxTokens;

  @Parameters(arity = "0..1", defaultValue = "Does radioiodine treatment shrink a non-toxic multinodular goitre?",
      description = "The query. Default: ${DEFAULT-VALUE} (SciFact's third test claim, asked as a question).")
  String query;

  @Override
  public Integer call() throws Exception {
    BeirDataset scifact = Corpora.sample(datasetOptions.load(), 3, extraDocs);
    JsonNode dialogue = ExampleMemoryCommand.readChatRow(chatFile, 0);
    List<JsonNode> iclRows = ExampleExamplesCommand.readIclRows(iclFile);

    try (LlmEmbedder embedder = model.embedderBuilder().build()) {
      Corpora.ensureIndexed(embedder, scifact); // knowledge: passages
      MemoryRetriever chat = embedder.memory("chat", Settings.of(Mode.CONVERSATION).withRecentTokens(0));
      dialogue.get("history").forEach(turn -> chat.append(turn.asText() + "\n")); // memory: a turn a chunk
      embedder.examples().addAll(ExampleExamplesCommand.demonstrations(iclRows)); // examples: demonstrations
      embedder.tools().addAll(ExampleToolsCommand.readTools(toolsDir)); // tools: catalogue entries with APIs
      System.out.printf("Knowledge: %d SciFact abstracts; memory: %d turns; examples: %d; tools: %d%n",
          embedder.knowledge().size(), chat.chunks().size(), embedder.examples().size(), embedder.tools().size());

      PromptContext context = embedder.context(query)
          .knowledge(2)
          .memory("chat", 1)
          .examples(2)
          .tools(2)
          .maxTokens(maxTokens) // over budget, the lowest-scoring hits are dropped first
          .build();

      System.out.println();
      System.out.println("Query: " + query);
      System.out.printf("Context: %d tokens (budget %d); dropped: %s%n", context.tokenCount(), maxTokens,
          context.dropped().isEmpty() ? "none" : context.dropped().stream()
              .map(d -> String.format("%s %s (%.3f)", d.section(), d.id(), d.score())).toList());
      System.out.println("=".repeat(100));
      System.out.println(context.render());
      System.out.println();
      System.out.println("Tools for the LLM's tool list:" + (context.tools().isEmpty() ? " none (dropped by the"
          + " budget; raise --max-tokens to keep them)" : ""));
      for (ToolHit hit : context.tools()) {
        System.out.printf("  %.4f  %s  %s%n", hit.score(), hit.tool().name(), Text.abbreviate(hit.tool().api(), 160));
      }
    }
    return 0;
  }
}
