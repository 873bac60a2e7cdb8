package dev.llmembedder.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.EvalReport;
import dev.llmembedder.eval.ToolDataset;
import dev.llmembedder.eval.ToolEvaluation;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.KeyField;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code eval-tools}: nDCG@5 and Recall@5 of tool retrieval on MetaTool (single- and multi-tool queries) and on
 * Gorilla APIBench per provider, for each query/key instruction set and each choice of key fields.
 */
@Command(name = "eval-tools", mixinStandardHelpOptions = true,
    description = "Evaluate tool retrieval on MetaTool and Gorilla APIBench (nDCG@5, Recall@5); print a table and"
        + " write JSON.")
final class EvalToolsCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--shared-data", defaultValue = "../shared/data",
      description = "Folder holding metatool/ and gorilla_apibench/. Default: ${DEFAULT-VALUE}.")
  Path sharedData;

  @Option(names = "--datasets", split = ",", defaultValue = "metatool,gorilla",
      description = "Which to evaluate: metatool and/or gorilla. Default: ${DEFAULT-VALUE}.")
  List<String> datasets;

  @Option(names = "--instructions", split = ",", defaultValue = "model,llm-embedder,none",
      description = "Instruction sets: 'model' (the model's own tool query/key instructions), 'llm-embedder'"
          + " (LLM-Embedder's tool instructions) and/or 'none'. Default: ${DEFAULT-VALUE}.")
  List<String> instructionSets;

  @Option(names = "--keys", split = ",", defaultValue = "description,document,api",
      description = "Tool keys: 'description' (the bare description), 'document' (name, description, parameters:"
          + " the default key) and/or 'api' (the document plus the whole API JSON). Default: ${DEFAULT-VALUE}.")
  List<String> keys;

  @Option(names = "--json", description = "Where to write the results (default: eval-tools-<model>.json).")
  Path json;

  @Override
  public Integer call() throws Exception {
    List<ToolDataset> collections = collections();
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String setName : instructionSets) {
      Encoder.Builder builder = model.encoderBuilder().queryCacheSize(0);
      InstructionSet set = switch (setName) {
        case "model" -> null;
        case "llm-embedder" -> InstructionSet.LLM_EMBEDDER;
        case "none" -> InstructionSet.NONE;
        default -> throw new IllegalArgumentException(
            "--instructions has '" + setName + "'; allowed: model, llm-embedder, none");
      };
      if (set != null) {
        builder.instructions(set);
      }
      try (Encoder encoder = builder.build()) {
        String queryInstruction = encoder.instructions().forTask(Task.TOOL).query();
        for (ToolDataset c : collections) {
          Map<String, float[][]> queries = new HashMap<>();
          for (String key : keys) {
            try (DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
              ToolRetriever retriever = new ToolRetriever(encoder, index, keyFields(key));
              long start = System.nanoTime();
              int added = ToolEvaluation.index(retriever, c);
              double indexSeconds = (System.nanoTime() - start) / 1e9;
              for (BeirDataset v : c.querySets()) {
                // query sets sharing their queries (Gorilla's two judgments) share the encoding
                float[][] q = queries.computeIfAbsent(v.queries().keySet().toString(),
                    ids -> ToolEvaluation.encodeQueries(retriever, v, queryInstruction));
                EvalReport report = ToolEvaluation.evaluate(retriever, v, q);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("dataset", c.name());
                row.put("split", v.split());
                row.put("model", encoder.modelName());
                row.put("instructions", setName);
                row.put("queryInstruction", queryInstruction);
                row.put("keyInstruction", encoder.instructions().forTask(Task.TOOL).key());
                row.put("key", key);
                row.put("tools", added);
                row.put("queries", report.queries());
                row.put("indexSeconds", indexSeconds);
                row.put("metrics", report.metrics());
                rows.add(row);
                printRow(row);
              }
            }
          }
        }
      }
    }
    Path out = json != null ? json : Path.of("eval-tools-" + model.modelName() + ".json");
    Files.write(out, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(rows));
    System.out.println("Wrote " + out.toAbsolutePath().normalize());
    return 0;
  }

  private List<ToolDataset> collections() throws Exception {
    List<ToolDataset> out = new ArrayList<>();
    for (String name : datasets) {
      switch (name) {
        case "metatool" -> out.add(ToolDataset.metaTool(existing(sharedData.resolve("metatool"))));
        case "gorilla" -> out.addAll(ToolDataset.gorillaByProvider(existing(sharedData.resolve("gorilla_apibench"))));
        default -> throw new IllegalArgumentException("--datasets has '" + name + "'; allowed: metatool, gorilla");
      }
    }
    return out;
  }

  private static Set<KeyField> keyFields(String key) {
    return switch (key) {
      case "description" -> EnumSet.of(KeyField.DESCRIPTION);
      case "document" -> ToolRetriever.DEFAULT_KEY;
      case "api" -> EnumSet.allOf(KeyField.class);
      default -> throw new IllegalArgumentException("--keys has '" + key + "'; allowed: description, document, api");
    };
  }

  private static Path existing(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("dataset directory " + dir.toAbsolutePath().normalize() + " does not exist;"
          + " set --shared-data to the folder holding metatool/ and gorilla_apibench/");
    }
    return dir;
  }

  @SuppressWarnings("unchecked")
  private static void printRow(Map<String, Object> r) {
    Map<String, Double> m = (Map<String, Double>) r.get("metrics");
    System.out.printf("| %-22s | %-18s | %-12s | %-11s | %6.4f | %6.4f | %6d | %5d |%n", r.get("dataset"),
        r.get("split"), r.get("instructions"),
        r.get("key"), m.get("ndcg@5"), m.get("recall@5"), (Integer) r.get("queries"), (Integer) r.get("tools"));
  }
}
