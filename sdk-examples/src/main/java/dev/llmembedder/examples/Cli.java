package dev.llmembedder.examples;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code llm-embedder}: index a BEIR corpus, search it, evaluate retrieval quality, mine training examples with hard
 * negatives, fill their teacher scores with an LLM ({@code score}), train a query adapter ({@code train}), run the
 * demo, or run one of the example programs ({@code example-knowledge}, {@code example-memory},
 * {@code example-examples}, {@code example-tools}, {@code example-context}: one per retriever and one for the
 * combined context).
 * Run with {@code --add-modules jdk.incubator.vector} for jvector's SIMD path.
 */
@Command(name = "llm-embedder", mixinStandardHelpOptions = true, version = "llm-embedder 0.1.0-SNAPSHOT",
    description = "LLM-Embedder for Java: build prompt context from your own data, in-process.",
    subcommands = {DemoCommand.class, IndexCommand.class, SearchCommand.class, EvalCommand.class,
        EvalToolsCommand.class, MineCommand.class, ScoreCommand.class, TrainCommand.class,
        ExampleKnowledgeCommand.class, ExampleMemoryCommand.class, ExampleExamplesCommand.class,
        ExampleToolsCommand.class, ExampleContextCommand.class,
        CommandLine.HelpCommand.class})
public final class Cli {
  private Cli() {}

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with its error handler; enum options accept any case ({@code --reduction sum}). */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new Cli());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    // bad input (a missing dataset, a broken model, a store of another model) gets its message, not a stack trace
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof IllegalArgumentException || e instanceof IllegalStateException
          || e instanceof java.io.IOException || e instanceof java.io.UncheckedIOException) {
        commandLine.getErr().println("error: " + e.getMessage());
        return 1;
      }
      throw e;
    });
    return cli;
  }
}
