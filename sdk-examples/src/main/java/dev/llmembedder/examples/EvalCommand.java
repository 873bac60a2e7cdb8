package dev.llmembedder.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.EvalReport;
import dev.llmembedder.eval.KnowledgeEvaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code eval}: nDCG@10, Recall@100 and MRR@10 of knowledge retrieval on a BEIR dataset. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Evaluate knowledge retrieval on a BEIR dataset (nDCG@10, Recall@100, MRR@10); print a table and"
        + " write JSON.")
final class EvalCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Mixin DatasetOptions datasetOptions;

  @Option(names = "--store", description = "Reuse or create a saved index here (default: index in memory, so that"
      + " the index time is measured).")
  Path store;

  @Option(names = "--query-instructions", split = ",", defaultValue = "model,none",
      description = "Query instruction variants to evaluate: 'model' (the model's own QA query instruction) and/or"
          + " 'none'. Default: ${DEFAULT-VALUE}.")
  List<String> variants;

  @Option(names = "--query-adapter", description = "A query adapter file (from `train`) applied to query embeddings;"
      + " the index is unchanged, so a saved one is reused.")
  Path queryAdapter;

  @Option(names = "--depth", defaultValue = "100", description = "Passages retrieved per query. Default: ${DEFAULT-VALUE}.")
  int depth;

  @Option(names = "--json", description = "Where to write the results (default: eval-<dataset>-<model>.json in the"
      + " working directory).")
  Path json;

  @Override
  public Integer call() throws Exception {
    BeirDataset dataset = datasetOptions.load();
    List<Map<String, Object>> rows = new ArrayList<>();
    try (LlmEmbedder embedder = embedder()) {
      Encoder encoder = embedder.encoder();
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      for (String variant : variants) {
        String instruction = switch (variant) {
          case "model" -> encoder.instructions().forTask(Task.QA).query();
          case "none" -> "";
          default -> throw new IllegalArgumentException(
              "--query-instructions has '" + variant + "'; allowed: model, none");
        };
        long start = System.nanoTime();
        EvalReport report = KnowledgeEvaluation.evaluate(embedder.knowledge(), dataset, depth, instruction);
        double searchSeconds = (System.nanoTime() - start) / 1e9;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("dataset", dataset.name());
        row.put("split", dataset.split());
        row.put("model", encoder.modelName());
        row.put("queryAdapter", queryAdapter == null ? null : queryAdapter.toString());
        row.put("queryInstruction", instruction);
        row.put("queries", report.queries());
        row.put("docs", dataset.corpus().size());
        row.put("indexSeconds", stats.reused() ? null : stats.seconds());
        row.put("docsPerSecond", stats.reused() ? null : stats.docsPerSecond());
        row.put("querySeconds", searchSeconds);
        row.put("metrics", report.metrics());
        rows.add(row);
      }
      printTable(rows);
    }
    Path out = json != null ? json : Path.of("eval-" + dataset.name() + "-" + model.modelName() + ".json");
    Files.write(out, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(rows));
    System.out.println("Wrote " + out.toAbsolutePath().normalize());
    return 0;
  }

  private LlmEmbedder embedder() {
    LlmEmbedder.Builder b = model.embedderBuilder().queryCacheSize(0);
    if (queryAdapter != null) {
      b.queryAdapter(queryAdapter);
    }
    return store != null ? b.storageDirectory(store).build() : b.build();
  }

  @SuppressWarnings("unchecked")
  private static void printTable(List<Map<String, Object>> rows) {
    System.out.printf("%n| %-24s | %-22s | %7s | %10s | %6s | %7s | %6s | %7s | %6s |%n", "model", "query instruction",
        "nDCG@10", "Recall@100", "MRR@10", "queries", "docs", "index s", "docs/s");
    System.out.println("|" + "-".repeat(26) + "|" + "-".repeat(24) + "|---------|------------|--------|---------|"
        + "--------|---------|--------|");
    for (Map<String, Object> r : rows) {
      Map<String, Double> m = (Map<String, Double>) r.get("metrics");
      String instruction = (String) r.get("queryInstruction");
      Object secs = r.get("indexSeconds");
      Object dps = r.get("docsPerSecond");
      System.out.printf("| %-24s | %-22s | %7.4f | %10.4f | %6.4f | %7d | %6d | %7s | %6s |%n", r.get("model"),
          instruction.isEmpty() ? "none" : abbreviate(instruction), m.get("ndcg@10"), m.get("recall@100"),
          m.get("mrr@10"), (Integer) r.get("queries"), (Integer) r.get("docs"),
          secs == null ? "reused" : String.format("%.0f", (Double) secs),
          dps == null ? "-" : String.format("%.1f", (Double) dps));
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 22 ? s : s.substring(0, 19) + "...";
  }
}
