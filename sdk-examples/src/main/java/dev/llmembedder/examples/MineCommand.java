package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.trainer.data.Miner;
import dev.llmembedder.trainer.data.TrainingData;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mine}: training examples with hard negatives from a BEIR split, in LLM-Embedder's JSONL format. Reuses the
 * dataset's saved index ({@code index/<dataset>-<model>}, the one {@code index} and {@code demo} build), building it
 * first when absent or incomplete.
 */
@Command(name = "mine", mixinStandardHelpOptions = true,
    description = "Mine training examples from a BEIR split: positives from its qrels, hard negatives from the model's"
        + " top hits (LLM-Embedder JSONL, task qa).")
final class MineCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--data", defaultValue = DatasetOptions.DATA + "scifact",
      description = "BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/). Default: ${DEFAULT-VALUE}.")
  Path data;

  @Option(names = "--split", defaultValue = "train", description = "qrels split to mine. Default: ${DEFAULT-VALUE}.")
  String split;

  @Option(names = "--negatives", defaultValue = "" + Miner.DEFAULT_NEGATIVES,
      description = "Hard negatives per query (the paper's groups are 1 positive + 7). Default: ${DEFAULT-VALUE}.")
  int negatives;

  @Option(names = "--store", description = "Index directory to reuse or create (default: index/<dataset>-<model>).")
  Path store;

  @Option(names = "--out", description = "Where to write the examples (default: <dataset>-<split>.jsonl).")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (negatives < 1) {
      throw new IllegalArgumentException("--negatives is " + negatives + "; expected >= 1");
    }
    BeirDataset dataset = DatasetOptions.load(data, split);
    Path dir = store != null ? store : DatasetOptions.defaultStore(dataset, model);
    Path file = out != null ? out : Path.of(dataset.name() + "-" + split + ".jsonl");
    Miner.Mined mined;
    try (LlmEmbedder embedder = model.embedderBuilder().storageDirectory(dir).queryCacheSize(0).build()) {
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      if (stats.reused()) {
        System.out.printf("Reusing the index in %s (%d documents)%n", dir, stats.docs());
      } else {
        System.out.printf("Indexed %d documents into %s in %.1f s (%.1f docs/s)%n", stats.docs(), dir,
            stats.seconds(), stats.docsPerSecond());
      }
      Miner miner = new Miner(embedder.knowledge(), negatives);
      try (ProgressBar bar = Corpora.progressBar("Mining " + dataset.name() + "/" + split,
          dataset.queries().size(), " queries")) {
        mined = miner.mine(dataset, bar::stepBy);
      }
    }
    TrainingData.write(file, mined.examples());
    System.out.printf("Wrote %d rows (1 query, its positives, %d hard negatives each) to %s%n",
        mined.examples().size(), negatives, file.toAbsolutePath().normalize());
    System.out.printf("Skipped %d of %d queries%s%n", mined.skippedTotal(), dataset.queries().size(),
        reasons(mined.skipped()));
    return 0;
  }

  private static String reasons(Map<Miner.Skip, Integer> skipped) {
    String s = skipped.entrySet().stream().filter(e -> e.getValue() > 0)
        .map(e -> e.getKey().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ": " + e.getValue())
        .collect(Collectors.joining(", "));
    return s.isEmpty() ? "" : " (" + s + ")";
  }
}
