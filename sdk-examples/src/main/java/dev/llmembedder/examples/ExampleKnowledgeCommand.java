package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
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
 * {@code example-knowledge}: knowledge retrieval on SciFact. Scientific abstracts go into {@code embedder.knowledge()};
 * a few of SciFact's test claims are asked and the top passages printed, the ones SciFact judges relevant marked.
 *
 * <p>By default it indexes a sample in memory (the abstracts judged for the questions plus 200 others, about a
 * minute on 2 cores); {@code --full} indexes all 5,183 abstracts into the index that {@code demo} saves and
 * reuses (about 12 minutes the first time, instant later).
 */
@Command(name = "example-knowledge", mixinStandardHelpOptions = true,
    description = "Example: knowledge retrieval on SciFact; print the top passages for a few test questions.")
final class ExampleKnowledgeCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Mixin DatasetOptions datasetOptions;

  @Option(names = "--questions", defaultValue = "3", description = "Test questions to ask. Default: ${DEFAULT-VALUE}.")
  int questions;

  @Option(names = "--extra-docs", defaultValue = "200",
      description = "Abstracts indexed besides the judged ones (sample mode). Default: ${DEFAULT-VALUE}.")
  int extraDocs;

  @Option(names = "--full", description = "Index the whole corpus into the saved index (index/<dataset>-<model>,"
      + " shared with demo) instead of a sample in memory.")
  boolean full;

  @Option(names = {"-k", "--top-k"}, defaultValue = "3", description = "Passages per question. Default: ${DEFAULT-VALUE}.")
  int k;

  @Override
  public Integer call() throws Exception {
    BeirDataset scifact = datasetOptions.load();
    BeirDataset data = full ? scifact : Corpora.sample(scifact, questions, extraDocs);
    Path store = DatasetOptions.defaultStore(scifact, model);
    LlmEmbedder.Builder builder = full ? model.embedderBuilder().storageDirectory(store) : model.embedderBuilder();

    try (LlmEmbedder embedder = builder.build()) {
      // the passages: title + abstract, encoded with the model's key instruction for QA
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, data);
      if (full) {
        System.out.printf("%s all %d %s abstracts in %s%n", stats.reused() ? "Reusing the saved index of" : "Indexed",
            stats.docs(), scifact.name(), store.toAbsolutePath().normalize());
      } else {
        System.out.printf("Indexed a sample of %d of the %d %s abstracts in memory in %.0f s: the ones judged for"
                + " the %d questions plus %d others at random (--full for all of them)%n",
            stats.docs(), scifact.corpus().size(), scifact.name(), stats.seconds(), questions, extraDocs);
      }

      for (Map.Entry<String, String> q : data.queries().entrySet().stream().limit(questions).toList()) {
        String question = q.getValue();
        Map<String, Integer> judged = data.qrels().get(q.getKey());
        System.out.println();
        System.out.println("Question: " + question);
        List<DocumentHit> hits = embedder.knowledge().retrieve(question, k); // best first
        for (DocumentHit hit : hits) {
          String mark = judged.containsKey(hit.document().id()) ? "  <- judged relevant" : "";
          System.out.printf("  %.4f  [%s] %s%s%n          %s%n", hit.score(), hit.document().id(),
              hit.document().title(), mark, Text.abbreviate(hit.document().text(), 160));
        }
      }
    }
    return 0;
  }
}
