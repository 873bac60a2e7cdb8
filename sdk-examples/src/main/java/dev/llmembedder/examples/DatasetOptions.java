package dev.llmembedder.examples;

import dev.llmembedder.eval.BeirDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The dataset options of the commands that read a BEIR dataset. */
final class DatasetOptions {
  @Option(names = "--data", defaultValue = "../shared/data/scifact",
      description = "BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/). Default: ${DEFAULT-VALUE}.")
  Path data;

  @Option(names = "--split", defaultValue = "test", description = "qrels split. Default: ${DEFAULT-VALUE}.")
  String split;

  /** Loads the dataset, or explains what is missing. */
  BeirDataset load() throws IOException {
    if (!Files.isDirectory(data)) {
      throw new IllegalArgumentException("dataset directory " + data.toAbsolutePath().normalize() + " does not exist;"
          + " expected a BEIR layout (corpus.jsonl, queries.jsonl, qrels/" + split + ".tsv), e.g. ../shared/data/scifact");
    }
    return BeirDataset.load(data, split);
  }

  /** Where {@code index} and {@code demo} keep a dataset's index by default: {@code index/<dataset>-<model>}. */
  static Path defaultStore(BeirDataset dataset, ModelOptions model) {
    return Path.of("index", dataset.name() + "-" + model.modelName());
  }
}
