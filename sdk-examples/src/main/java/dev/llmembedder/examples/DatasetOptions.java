package dev.llmembedder.examples;

import dev.llmembedder.eval.BeirDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The dataset options of the commands that read a BEIR dataset, and where the commands find their data. */
final class DatasetOptions {
  /** The shared data folder beside the project, as seen from the project root (where the README's commands run). */
  static final String DATA = "../shared/data/";

  @Option(names = "--data", defaultValue = DATA + "scifact",
      description = "BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/). Default: ${DEFAULT-VALUE}.")
  Path data;

  @Option(names = "--split", defaultValue = "test", description = "qrels split. Default: ${DEFAULT-VALUE}.")
  String split;

  /** Loads the dataset, or explains what is missing. */
  BeirDataset load() throws IOException {
    return load(data, split);
  }

  /** Loads the BEIR dataset in {@code dir}, or explains what is missing. */
  static BeirDataset load(Path dir, String split) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("dataset directory " + dir.toAbsolutePath().normalize() + " does not exist;"
          + " expected a BEIR layout (corpus.jsonl, queries.jsonl, qrels/" + split + ".tsv), e.g. " + DATA + "scifact");
    }
    return BeirDataset.load(dir, split);
  }

  /** {@code file}, or an error that names it and says what it should hold. */
  static Path requireFile(Path file, String expected) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("file " + file.toAbsolutePath().normalize() + " does not exist; expected "
          + expected);
    }
    return file;
  }

  /** Where {@code index} and {@code demo} keep a dataset's index by default: {@code index/<dataset>-<model>}. */
  static Path defaultStore(BeirDataset dataset, ModelOptions model) {
    return Path.of("index", dataset.name() + "-" + model.modelName());
  }
}
