package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.eval.BeirDataset;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code index}: encode a BEIR corpus into a saved index. */
@Command(name = "index", mixinStandardHelpOptions = true,
    description = "Encode a BEIR-layout corpus (corpus.jsonl) into a saved index, with a progress bar.")
final class IndexCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Mixin DatasetOptions datasetOptions;

  @Option(names = "--store", description = "Index directory (default: index/<dataset>-<model>).")
  Path store;

  @Override
  public Integer call() throws Exception {
    BeirDataset dataset = datasetOptions.load();
    Path dir = store != null ? store : DatasetOptions.defaultStore(dataset, model);
    try (LlmEmbedder embedder = model.embedderBuilder().storageDirectory(dir).build()) {
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      if (stats.reused()) {
        System.out.printf("%s already holds all %d documents of %s%n", dir, stats.docs(), dataset.name());
      } else {
        System.out.printf("Indexed %d documents into %s in %.1f s (%.1f docs/s)%n", stats.docs(), dir,
            stats.seconds(), stats.docsPerSecond());
      }
    }
    return 0;
  }
}
