package dev.llmembedder.reliability;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.llmembedder.eval.ToolEvaluation;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ToolRetriever;
import java.io.IOException;

/**
 * Coverage-guided fuzzing (Jazzer, through its JUnit integration) of the parsers of files from outside: the tool
 * readers (JSON lines, OpenAI JSON, a BEIR tool corpus), the demonstrations reader, the three BEIR files, the query
 * adapter file (its CRC32C fixed up, so that the parser behind it is reached), and a saved index: its
 * {@code manifest.json}, and its documents, vectors and graph files behind a fixed-up size and CRC32C. Each input is
 * the raw bytes of the file. The documented exceptions and the check that their message names the file are those
 * of {@link FileReaderFuzzTest}, whose property-based generators know the formats; Jazzer mutates bytes guided by
 * the branches it covers (with {@code -Djazzer.instrument=dev.llmembedder.**,com.fasterxml.jackson.**}, Jackson's
 * too).
 *
 * <p>In a plain {@code ./mvnw verify} (regression mode) each {@code @FuzzTest} only replays its seed inputs from
 * {@code src/test/resources/dev/llmembedder/reliability/ParserFuzzTestInputs/<method>/} and an empty input. Fuzzing
 * mode, one method at a time: {@code JAZZER_FUZZ=1 ./mvnw -pl sdk/core test -Dtest='ParserFuzzTest#toolJsonLines'
 * -Djazzer.max_executions=1000000}; a failing input is saved beside the seeds, where it becomes a regression test.
 * The corpus grows in {@code sdk/core/.cifuzz-corpus/} (ignored by git).
 */
class ParserFuzzTest {
  private static final String MAX = "10m"; // fuzzing mode only; -Djazzer.max_executions=N stops it sooner

  @FuzzTest(maxDuration = MAX)
  void toolJsonLines(byte[] data) throws IOException {
    FileReaderFuzzTest.check("jazzer-tools-jsonl", data, ToolRetriever::readJsonl);
  }

  @FuzzTest(maxDuration = MAX)
  void openAiTools(byte[] data) throws IOException {
    FileReaderFuzzTest.check("jazzer-tools-openai", data, ToolRetriever::readOpenAiTools);
  }

  @FuzzTest(maxDuration = MAX)
  void beirToolCorpus(byte[] data) throws IOException {
    FileReaderFuzzTest.check("jazzer-tools-beir-corpus", data, ToolEvaluation::readTools);
  }

  @FuzzTest(maxDuration = MAX)
  void demonstrations(byte[] data) throws IOException {
    FileReaderFuzzTest.check("jazzer-demonstrations", data, ExampleRetriever::readJsonl);
  }

  @FuzzTest(maxDuration = MAX)
  void beirCorpus(byte[] data) throws IOException {
    FileReaderFuzzTest.beir("jazzer-beir-corpus", "corpus.jsonl", data);
  }

  @FuzzTest(maxDuration = MAX)
  void beirQueries(byte[] data) throws IOException {
    FileReaderFuzzTest.beir("jazzer-beir-queries", "queries.jsonl", data);
  }

  @FuzzTest(maxDuration = MAX)
  void beirQrels(byte[] data) throws IOException {
    FileReaderFuzzTest.beir("jazzer-beir-qrels", "qrels/test.tsv", data);
  }

  @FuzzTest(maxDuration = MAX)
  void queryAdapter(byte[] data) throws IOException {
    FileReaderFuzzTest.queryAdapter("jazzer-query-adapter", data.clone(), true);
  }

  @FuzzTest(maxDuration = MAX)
  void indexManifest(byte[] data) throws IOException {
    FileReaderFuzzTest.indexManifest("jazzer-index-manifest", data);
  }

  @FuzzTest(maxDuration = MAX)
  void indexDocuments(byte[] data) throws IOException {
    FileReaderFuzzTest.indexFile("jazzer-index-documents", "documents", data);
  }

  @FuzzTest(maxDuration = MAX)
  void indexVectors(byte[] data) throws IOException {
    FileReaderFuzzTest.indexFile("jazzer-index-vectors", "vectors", data);
  }

  @FuzzTest(maxDuration = MAX)
  void indexGraph(byte[] data) throws IOException {
    FileReaderFuzzTest.indexFile("jazzer-index-graph", "graph", data);
  }
}
