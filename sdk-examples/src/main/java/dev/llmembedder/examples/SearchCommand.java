package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.index.DocumentHit;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code search}: question in, top passages out; one-shot or interactive. */
@Command(name = "search", mixinStandardHelpOptions = true,
    description = "Search a saved index: pass a question, or none to type questions one per line.")
final class SearchCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--store", required = true, description = "Index directory written by 'index'.")
  Path store;

  @Option(names = {"-k", "--top-k"}, defaultValue = "5", description = "Passages to show. Default: ${DEFAULT-VALUE}.")
  int k;

  @Parameters(arity = "0..1", description = "The question (omit for interactive mode).")
  String question;

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(store)) {
      System.err.println("No index at " + store.toAbsolutePath().normalize() + "; build one with 'index' first.");
      return 2;
    }
    try (LlmEmbedder embedder = model.embedderBuilder().storageDirectory(store).build()) {
      if (question != null) {
        print(embedder, question);
        return 0;
      }
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      System.out.print("question> ");
      System.out.flush();
      for (String line; (line = in.readLine()) != null; ) {
        if (!line.isBlank()) {
          print(embedder, line);
        }
        System.out.print("question> ");
        System.out.flush();
      }
      System.out.println();
    }
    return 0;
  }

  private void print(LlmEmbedder embedder, String q) {
    int rank = 1;
    for (DocumentHit hit : embedder.knowledge().retrieve(q, k)) {
      String text = hit.document().text();
      System.out.printf("%2d. %.4f  [%s] %s%n      %s%n", rank++, hit.score(), hit.document().id(),
          hit.document().title(), text.length() > 200 ? text.substring(0, 200) + "..." : text);
    }
  }
}
