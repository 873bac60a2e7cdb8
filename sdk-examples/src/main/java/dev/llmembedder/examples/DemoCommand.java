package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.context.PromptContext;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.index.DocumentHit;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code demo}: index SciFact with the embedded default model (reusing the saved index on later runs), then build the
 * prompt context for three of its test questions and print it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Index SciFact (reused when saved), answer three of its questions, print each prompt context.")
final class DemoCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Mixin DatasetOptions datasetOptions;

  @Option(names = "--store", description = "Index directory (default: index/<dataset>-<model>).")
  Path store;

  @Option(names = {"-k", "--top-k"}, defaultValue = "3", description = "Passages per context. Default: ${DEFAULT-VALUE}.")
  int k;

  @Override
  public Integer call() throws Exception {
    BeirDataset dataset = datasetOptions.load();
    Path dir = store != null ? store : DatasetOptions.defaultStore(dataset, model);
    try (LlmEmbedder embedder = model.embedderBuilder().storageDirectory(dir).build()) {
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      System.out.printf(stats.reused()
              ? "Reusing the index of %d %s passages in %s%n"
              : "Indexed %d %s passages into %s in %.0f s%n",
          stats.docs(), dataset.name(), dir.toAbsolutePath().normalize(), stats.seconds());
      List<Map.Entry<String, String>> questions = dataset.queries().entrySet().stream().limit(3).toList();
      for (Map.Entry<String, String> q : questions) {
        String question = q.getValue();
        Map<String, Integer> relevant = dataset.qrels().getOrDefault(q.getKey(), Map.of());
        PromptContext context = embedder.context(question).knowledge(k).build();
        System.out.println();
        System.out.println("=".repeat(100));
        System.out.println("Question: " + question);
        for (DocumentHit hit : context.knowledge()) {
          String qrel = relevant.containsKey(hit.document().id()) ? "  <- judged relevant" : "";
          System.out.printf("  score %.4f  doc %s%s%n", hit.score(), hit.document().id(), qrel);
        }
        System.out.println("-".repeat(100));
        System.out.println(context.render());
      }
    }
    return 0;
  }
}
