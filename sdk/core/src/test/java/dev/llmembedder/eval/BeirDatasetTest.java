package dev.llmembedder.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The BEIR loader on small files written to a temporary directory. */
class BeirDatasetTest {
  private static final String CORPUS = """
      {"_id": "d1", "title": "Title one", "text": "Text one.", "metadata": {}}
      {"_id": "d2", "title": "", "text": "Text two."}
      {"_id": "d3", "text": "Text three."}
      {"_id": "d4", "title": null, "text": "Caf\\u00e9 four."}
      {"_id": "d5", "title": "T5", "text": "Text five."}
      """;
  private static final String QUERIES = """
      {"_id": "q1", "text": "first?"}
      {"_id": "q2", "text": "second?"}
      {"_id": "q3", "text": "train only?"}
      """;
  private static final String QRELS = """
      query-id\tcorpus-id\tscore
      q2\td3\t2
      q1\td1\t1
      q2\td2\t0
      """;

  @TempDir Path root;
  private Path dir;

  @BeforeEach
  void writeDataset() throws IOException {
    dir = Files.createDirectories(root.resolve("tiny"));
    write("corpus.jsonl", CORPUS);
    write("queries.jsonl", QUERIES);
    write("qrels/test.tsv", QRELS);
  }

  @Test
  void loadsTheSplitKeepingOnlyJudgedQueries() throws IOException {
    BeirDataset data = BeirDataset.load(dir, "test");

    assertEquals("tiny", data.name());
    assertEquals("test", data.split());
    assertEquals(List.of("d1", "d2", "d3", "d4", "d5"), List.copyOf(data.corpus().keySet()));
    assertEquals(new CorpusDoc("d4", "", "Café four."), data.corpus().get("d4"));
    assertEquals(List.of("q2", "q1"), List.copyOf(data.queries().keySet())); // qrels order, as BEIR
    assertEquals("second?", data.queries().get("q2"));
    assertEquals(Map.of("q2", Map.of("d3", 2, "d2", 0), "q1", Map.of("d1", 1)), data.qrels());
    assertEquals(3, data.judgments());
    assertEquals("BeirDataset[name=tiny, split=test, docs=5, queries=2, judgments=3]", data.toString());
    assertThrows(UnsupportedOperationException.class, () -> data.qrels().get("q1").put("d5", 1));
  }

  @Test
  void titleAndTextJoinsWithASpaceOnlyWhenThereIsATitle() {
    assertEquals("Title one Text one.", new CorpusDoc("d1", "Title one", "Text one.").titleAndText());
    assertEquals("Text two.", new CorpusDoc("d2", "", "Text two.").titleAndText());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      {"_id": "d9"}                         | field 'text' is missing; expected a string
      {"_id": "d9", "text": null}           | field 'text' is null; expected a string
      {"_id": 9, "text": "x"}               | field '_id' is a NUMBER; expected a string
      {"_id": "", "text": "x"}              | field '_id' is empty; expected a non-empty string
      {"_id": "d9", "title": 1, "text": "x"} | field 'title' is a NUMBER; expected a string
      {"_id": "d1", "text": "again"}        | duplicate _id 'd1' (already on an earlier line)
      ["d9", "x"]                           | a JSON ARRAY; expected an object
      """)
  void rejectsAMalformedCorpusLineNamingFileLineAndField(String line, String problem) throws IOException {
    write("corpus.jsonl", CORPUS.replace("{\"_id\": \"d3\", \"text\": \"Text three.\"}", line));
    assertLoadFails(dir.resolve("corpus.jsonl") + ":3: " + problem);
  }

  @Test
  void rejectsInvalidJsonTrailingTokensAndBlankLines() throws IOException {
    write("corpus.jsonl", CORPUS.replace("\"text\": \"Text two.\"}", "\"text\": \"Text two.\""));
    assertTrue(loadFailure().startsWith(dir.resolve("corpus.jsonl") + ":2: invalid JSON: "), loadFailure());

    write("corpus.jsonl", CORPUS.replace("\"text\": \"Text two.\"}", "\"text\": \"Text two.\"} {}"));
    assertTrue(loadFailure().startsWith(dir.resolve("corpus.jsonl") + ":2: invalid JSON: Trailing token"),
        loadFailure());

    write("corpus.jsonl", CORPUS + "\n");
    assertLoadFails(dir.resolve("corpus.jsonl") + ":6: blank line; expected one record a line");
  }

  @Test
  void rejectsInvalidUtf8() throws IOException {
    Files.write(dir.resolve("corpus.jsonl"), new byte[] {'{', (byte) 0xC3, '}', '\n'});
    assertTrue(loadFailure().startsWith(dir.resolve("corpus.jsonl") + ":1: not valid UTF-8"), loadFailure());
  }

  @Test
  void rejectsMalformedQueries() throws IOException {
    write("queries.jsonl", QUERIES.replace("{\"_id\": \"q2\", \"text\": \"second?\"}", "{\"_id\": \"q2\"}"));
    assertLoadFails(dir.resolve("queries.jsonl") + ":2: field 'text' is missing; expected a string");

    write("queries.jsonl", QUERIES + "{\"_id\": \"q3\", \"text\": \"again\"}\n");
    assertLoadFails(dir.resolve("queries.jsonl") + ":4: duplicate _id 'q3' (already on an earlier line)");

    write("queries.jsonl", "{\"_id\": \"q1\", \"text\": \"first?\"}\n");
    assertLoadFails(dir.resolve("qrels/test.tsv") + " judges query 'q2', which " + dir.resolve("queries.jsonl")
        + " lacks");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
      1 | qid\\tdocid\\tscore | header is 'qid\tdocid\tscore'; expected 'query-id\tcorpus-id\tscore'
      3 | q1\\td1             | 2 tab-separated fields; expected 3 (query-id, corpus-id, score)
      3 | q1\\td1\\t1\\tx     | 4 tab-separated fields; expected 3 (query-id, corpus-id, score)
      3 | q1\\td1\\thigh      | score 'high' is not an integer
      3 | \\td1\\t1           | field 'query-id' is empty; expected a non-empty id
      3 | q1\\t\\t1           | field 'corpus-id' is empty; expected a non-empty id
      4 | q1\\td1\\t1         | duplicate judgment of query-id 'q1' and corpus-id 'd1' (already on an earlier line)
      """)
  void rejectsAMalformedQrelsLineNamingFileLineAndField(int lineNo, String line, String problem) throws IOException {
    List<String> lines = new ArrayList<>(QRELS.lines().toList());
    lines.set(lineNo - 1, line.replace("\\t", "\t"));
    write("qrels/test.tsv", String.join("\n", lines) + "\n");
    assertLoadFails(dir.resolve("qrels/test.tsv") + ":" + lineNo + ": " + problem);
  }

  @Test
  void rejectsQrelsWithoutJudgments() throws IOException {
    write("qrels/test.tsv", "query-id\tcorpus-id\tscore\n");
    assertLoadFails(dir.resolve("qrels/test.tsv") + " holds no judgment; expected the header"
        + " 'query-id\tcorpus-id\tscore' then one judgment a line");
  }

  @Test
  void rejectsAMissingFileOrABadSplitName() {
    NoSuchFileException missing = assertThrows(NoSuchFileException.class, () -> BeirDataset.load(dir, "dev"));
    assertEquals(dir.resolve("qrels/dev.tsv").toString(), missing.getMessage());

    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> BeirDataset.load(dir, "../test"));
    assertEquals("split '../test' is not a plain name; expected one matching [A-Za-z0-9][A-Za-z0-9._-]*, e.g."
        + " \"test\"", bad.getMessage());
  }

  @Test
  void subsetKeepsEveryJudgedDocumentPlusADeterministicDraw() throws IOException {
    BeirDataset data = BeirDataset.load(dir, "test");

    BeirDataset none = data.subset(0, 1);
    assertEquals(List.of("d1", "d2", "d3"), List.copyOf(none.corpus().keySet())); // judged, incl. grade 0
    assertEquals(data.queries(), none.queries());
    assertEquals(data.qrels(), none.qrels());

    BeirDataset one = data.subset(1, 7);
    assertEquals(4, one.corpus().size());
    assertTrue(one.corpus().keySet().containsAll(none.corpus().keySet()));
    assertEquals(one, data.subset(1, 7));

    assertEquals(data, data.subset(Integer.MAX_VALUE, 7));
    assertEquals("extraDocs is -1; expected >= 0",
        assertThrows(IllegalArgumentException.class, () -> data.subset(-1, 7)).getMessage());
  }

  @Test
  void constructorChecksThatQueriesAndQrelsMatch() {
    Map<String, CorpusDoc> corpus = Map.of("d1", new CorpusDoc("d1", "", "x"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BeirDataset(
        "n", corpus, Map.of("q1", "?", "q2", "?"), Map.of("q1", Map.of("d1", 1), "q3", Map.of("d1", 1)), "test"));
    assertEquals("queries and qrels must have the same query ids; queries without judgments: [q2], judged queries"
        + " without text: [q3]", e.getMessage());

    IllegalArgumentException key = assertThrows(IllegalArgumentException.class, () -> new BeirDataset(
        "n", Map.of("d2", new CorpusDoc("d1", "", "x")), Map.of(), Map.of(), "test"));
    assertEquals("corpus key 'd2' maps to a document with id 'd1'; expected the document's own id", key.getMessage());
    assertEquals(0, new BeirDataset("n", corpus, Map.of(), Map.of(), "test").judgments());
  }

  private void write(String relative, String content) throws IOException {
    Path file = dir.resolve(relative);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  private String loadFailure() {
    return assertThrows(IOException.class, () -> BeirDataset.load(dir, "test")).getMessage();
  }

  private void assertLoadFails(String message) {
    assertEquals(message, loadFailure());
  }

  @Test
  void readsASplitsQueriesFromTheirOwnFile() throws IOException {
    write("queries_multi.jsonl", "{\"_id\": \"m1\", \"text\": \"two tools?\"}\n");
    write("qrels/multi.tsv", "query-id\tcorpus-id\tscore\nm1\td1\t1\nm1\td5\t1\n");
    BeirDataset data = BeirDataset.load(dir, "multi", "queries_multi.jsonl");
    assertEquals(Map.of("m1", "two tools?"), data.queries());
    assertEquals(Map.of("d1", 1, "d5", 1), data.qrels().get("m1"));
    assertThrows(IllegalArgumentException.class, () -> BeirDataset.load(dir, "multi", "../queries.jsonl"));
  }

  @Test
  void withIdPrefixKeepsThatPartOfCorpusQueriesAndJudgments() throws IOException {
    write("corpus.jsonl", """
        {"_id": "a-1", "text": "A one."}
        {"_id": "b-1", "text": "B one."}
        {"_id": "a-2", "text": "A two."}
        """);
    write("queries.jsonl", """
        {"_id": "a-q1", "text": "a?"}
        {"_id": "b-q1", "text": "b?"}
        {"_id": "a-q2", "text": "a, judged only against b"}
        """);
    write("qrels/test.tsv", "query-id\tcorpus-id\tscore\na-q1\ta-2\t1\na-q1\tb-1\t1\nb-q1\tb-1\t1\na-q2\tb-1\t1\n");
    BeirDataset a = BeirDataset.load(dir, "test").withIdPrefix("a-");
    assertEquals("tiny/a-", a.name());
    assertEquals(List.of("a-1", "a-2"), List.copyOf(a.corpus().keySet()));
    assertEquals(Map.of("a-q1", Map.of("a-2", 1)), a.qrels());
    assertEquals(List.of("a-q1"), List.copyOf(a.queries().keySet()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BeirDataset.load(dir, "test").withIdPrefix("c-"));
    assertTrue(e.getMessage().contains("'c-'"), e.getMessage());
  }
}
