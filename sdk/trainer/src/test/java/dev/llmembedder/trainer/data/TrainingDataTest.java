package dev.llmembedder.trainer.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.data.TrainingData.Read;
import dev.llmembedder.trainer.data.TrainingData.Skip;
import dev.llmembedder.trainer.testing.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingDataTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private static Path toy(String task) {
    return SharedData.require("data/llm_embedder_toy/" + task + ".jsonl");
  }

  /** The rows of a file as Jackson reads them: the oracle the reader is checked against. */
  private static List<JsonNode> rawRows(Path file) throws IOException {
    List<JsonNode> rows = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      rows.add(JSON.readTree(line));
    }
    return rows;
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.textValue()));
    return out;
  }

  private static List<Double> doubles(JsonNode array) {
    List<Double> out = new ArrayList<>();
    array.forEach(n -> out.add(n.doubleValue()));
    return out;
  }

  private Path file(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, List.of(lines), StandardCharsets.UTF_8);
    return file;
  }

  @Test
  void readsQaRowsWithEveryField() throws IOException {
    Path file = toy("qa");
    Read read = TrainingData.read(file);
    List<JsonNode> raw = rawRows(file);
    assertEquals(raw.size(), read.examples().size());
    assertEquals(0, read.skippedTotal());
    for (int i = 0; i < raw.size(); i++) {
      TrainingExample e = read.examples().get(i);
      JsonNode r = raw.get(i);
      assertEquals(r.get("query").textValue(), e.query());
      assertEquals(strings(r.get("pos")), e.positives());
      assertEquals(strings(r.get("neg")), e.negatives());
      assertEquals(doubles(r.get("teacher_scores")), e.teacherScores());
      assertEquals(strings(r.get("answers")), e.answers());
      assertEquals(Task.QA, e.task());
    }
    assertEquals(100, read.examples().getFirst().negatives().size());
    assertEquals(101, read.examples().getFirst().teacherScores().size());
  }

  @Test
  void readsEveryToyTaskWithItsTask() throws IOException {
    for (Task task : List.of(Task.QA, Task.ICL, Task.TOOL, Task.CONVSEARCH)) {
      Read read = TrainingData.read(toy(task.id()));
      assertEquals(8, read.examples().size(), task.id());
      assertTrue(read.examples().stream().allMatch(e -> e.task() == task), task.id());
    }
    // tool rows: several positives, no teacher scores, no answers
    TrainingExample tool = TrainingData.read(toy("tool")).examples().getFirst();
    assertEquals(4, tool.positives().size());
    assertEquals(20, tool.negatives().size());
    assertTrue(tool.teacherScores().isEmpty());
    assertTrue(tool.answers().isEmpty());
  }

  @Test
  void convsearchTextsWinOverTheirIndicesWithoutACorpus() throws IOException {
    Path file = toy("convsearch");
    Read read = TrainingData.read(file);
    JsonNode first = rawRows(file).getFirst();
    assertEquals(strings(first.get("pos")), read.examples().getFirst().positives());
    assertEquals(32, read.examples().getFirst().negatives().size());
  }

  @Test
  void rowsWithoutAPositiveAreSkippedOrTakeTheTeachersBest() throws IOException {
    // chat rows carry 'history' (candidates, no positive); lrlm rows an empty 'pos'
    for (String task : List.of("chat", "lrlm")) {
      Read skipped = TrainingData.read(toy(task));
      assertEquals(0, skipped.examples().size(), task);
      assertEquals(8, skipped.skipped().get(Skip.NO_POSITIVE), task);
      assertEquals(8, skipped.skippedTotal(), task);
    }
    Path chat = toy("chat");
    Read read = TrainingData.reader().positiveFromTeacher(true).build().read(chat);
    assertEquals(8, read.examples().size());
    List<JsonNode> raw = rawRows(chat);
    for (int i = 0; i < raw.size(); i++) {
      List<String> history = strings(raw.get(i).get("history"));
      List<Double> scores = doubles(raw.get(i).get("teacher_scores"));
      int best = 0;
      for (int j = 1; j < scores.size(); j++) {
        best = scores.get(j) > scores.get(best) ? j : best;
      }
      TrainingExample e = read.examples().get(i);
      assertEquals(List.of(history.get(best)), e.positives());
      assertEquals(history.size() - 1, e.negatives().size());
      assertEquals(scores.get(best), e.teacherScores().getFirst());
      // candidates and scores still pair up: the score of each candidate is its original score
      for (int j = 0; j < e.candidates().size(); j++) {
        assertEquals(scores.get(history.indexOf(e.candidates().get(j))), e.teacherScores().get(j));
      }
      assertEquals(Task.CHAT, e.task());
    }
    // the first chat row's best turn is its second (score -2.984375)
    assertEquals(-2.984375, read.examples().getFirst().teacherScores().getFirst());
    Read lrlm = TrainingData.reader().positiveFromTeacher(true).build().read(toy("lrlm"));
    assertEquals(8, lrlm.examples().size());
    assertEquals(63, lrlm.examples().getFirst().negatives().size());
  }

  @Test
  void optionalSkipsAreCounted() throws IOException {
    Read tool = TrainingData.reader().requireTeacherScores(true).build().read(toy("tool"));
    assertEquals(0, tool.examples().size());
    assertEquals(8, tool.skipped().get(Skip.NO_TEACHER_SCORES));
    Read icl = TrainingData.reader().requireTeacherScores(true).minNegatives(18).build().read(toy("icl"));
    assertEquals(0, icl.examples().size()); // 17 negatives each
    assertEquals(8, icl.skipped().get(Skip.TOO_FEW_NEGATIVES));
    Read both = TrainingData.reader().requireTeacherScores(true).build().read(List.of(toy("tool"), toy("icl")));
    assertEquals(8, both.examples().size());
    assertEquals(8, both.skippedTotal());
    assertEquals("8 examples, 8 skipped (NO_TEACHER_SCORES 8)", both.toString());
    // a row counts once, under the first reason
    Path file = file("mixed.jsonl", "{\"query\": \"q\", \"pos\": [], \"neg\": [], \"task\": \"qa\"}");
    Read mixed = TrainingData.reader().requireTeacherScores(true).minNegatives(1).build().read(file);
    assertEquals(1, mixed.skipped().get(Skip.NO_POSITIVE));
    assertEquals(1, mixed.skippedTotal());
  }

  @Test
  void indicesReferToZeroBasedLinesOfAPlainTextCorpus() throws IOException {
    Path corpus = file("corpus.txt", "passage zero", "passage one", "", "passage three");
    Path train = file("train.jsonl",
        "{\"query\": \"q1\", \"pos_index\": [1], \"neg_index\": [0, 3, 2], \"task\": \"qa\"}",
        "",
        "{\"query\": \"q2\", \"pos\": [\"inline\"], \"neg_index\": [3], \"teacher_scores\": [1, -0.5],"
            + " \"task\": \"tool\"}");
    Read read = TrainingData.reader().corpus(corpus).build().read(train);
    assertEquals(List.of(
        new TrainingExample("q1", List.of("passage one"), List.of("passage zero", "passage three", ""), null, null,
            Task.QA),
        new TrainingExample("q2", List.of("inline"), List.of("passage three"), List.of(1.0, -0.5), null, Task.TOOL)),
        read.examples());
  }

  @Test
  void indicesReferToLinesOfAJsonlCorpusTitleThenText() throws IOException {
    Path corpus = file("corpus.jsonl",
        "{\"_id\": \"d7\", \"title\": \"Title\", \"text\": \"body zero\"}",
        "{\"text\": \"body one\"}",
        "not json, but never referred to",
        "{\"title\": \"\", \"text\": \"body three\"}");
    Path train = file("train.jsonl", "{\"query\": \"q\", \"pos_index\": [0], \"neg_index\": [3, 1], \"task\": \"qa\"}");
    TrainingExample e = TrainingData.reader().corpus(corpus).build().read(train).examples().getFirst();
    assertEquals(List.of("Title body zero"), e.positives());
    assertEquals(List.of("body three", "body one"), e.negatives());

    Path bad = file("bad.jsonl", "{\"query\": \"q\", \"pos_index\": [2], \"task\": \"qa\"}");
    IOException e2 = assertThrows(IOException.class, () -> TrainingData.reader().corpus(corpus).build().read(bad));
    assertTrue(e2.getMessage().startsWith(corpus + ":3: not valid JSON"), e2.getMessage());
  }

  @Test
  void indexPastTheCorpusEndNamesRowFieldAndCorpusSize() throws IOException {
    Path corpus = file("corpus.txt", "a", "b");
    Path train = file("train.jsonl", "{\"query\": \"q\", \"pos\": [\"p\"], \"task\": \"qa\"}",
        "{\"query\": \"q\", \"pos\": [\"p\"], \"neg_index\": [1, 2], \"task\": \"qa\"}");
    IOException e = assertThrows(IOException.class, () -> TrainingData.reader().corpus(corpus).build().read(train));
    assertEquals(train + ":2: field 'neg_index' item 1 is 2, but corpus " + corpus
        + " has 2 lines (indices 0 to 1)", e.getMessage());
  }

  @Test
  void indicesWithoutACorpusAreRefused() throws IOException {
    Path train = file("train.jsonl", "{\"query\": \"q\", \"pos_index\": [0], \"task\": \"qa\"}");
    IOException e = assertThrows(IOException.class, () -> TrainingData.read(train));
    assertTrue(e.getMessage().startsWith(train + ":1: field 'pos_index' refers to corpus lines, but no corpus"),
        e.getMessage());
  }

  @Test
  void malformedRowsNameFileLineAndField() throws IOException {
    String ok = "{\"query\": \"q\", \"pos\": [\"p\"], \"task\": \"qa\"}";
    String[][] cases = {
        {"{\"query\": \"q\", \"pos\": [\"p\"]", "not valid JSON"},
        {"[1, 2]", "expected a JSON object, found ARRAY"},
        {"{\"pos\": [\"p\"], \"task\": \"qa\"}", "field 'query' is missing; expected a string"},
        {"{\"query\": \"  \", \"pos\": [\"p\"], \"task\": \"qa\"}", "field 'query' is blank"},
        {"{\"query\": 5, \"pos\": [\"p\"], \"task\": \"qa\"}", "field 'query' is a NUMBER; expected a string"},
        {"{\"query\": \"q\", \"pos\": \"p\", \"task\": \"qa\"}", "field 'pos' is a STRING; expected an array"},
        {"{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\", 3], \"task\": \"qa\"}",
            "field 'neg' item 1 is a NUMBER; expected a string"},
        {"{\"query\": \"q\", \"pos\": [\"p\"], \"neg\": [\"n\"], \"teacher_scores\": [1.0], \"task\": \"qa\"}",
            "field 'teacher_scores' has 1 scores for 1 positives and 1 negatives"},
        {"{\"query\": \"q\", \"pos\": [\"p\"], \"teacher_scores\": [\"high\"], \"task\": \"qa\"}",
            "field 'teacher_scores' item 0 is a STRING; expected a finite number"},
        {"{\"query\": \"q\", \"pos\": [\"p\"], \"teacher_scores\": [1e999], \"task\": \"qa\"}",
            "field 'teacher_scores' item 0 is"},
        {"{\"query\": \"q\", \"pos\": [\"p\"], \"answers\": \"a\", \"task\": \"qa\"}", "field 'answers' is a STRING"},
        {"{\"query\": \"q\", \"pos\": [\"p\"], \"task\": \"poetry\"}",
            "field 'task' is 'poetry'; allowed: qa, icl, chat, lrlm, tool, convsearch"},
        {"{\"query\": \"q\", \"pos\": [\"p\"]}", "field 'task' is missing"},
        {"{\"query\": \"q\", \"pos_index\": [-1], \"task\": \"qa\"}", "field 'pos_index' item 0 is -1"},
        {"{\"query\": \"q\", \"pos_index\": [1.5], \"task\": \"qa\"}", "field 'pos_index' item 0 is 1.5"},
        {"{\"query\": \"q\", \"history\": [\"h\"], \"pos\": [\"p\"], \"task\": \"chat\"}",
            "field 'pos' is given together with 'history'"},
    };
    for (String[] c : cases) {
      Path file = file("bad.jsonl", ok, "", c[0]);
      IOException e = assertThrows(IOException.class, () -> TrainingData.read(file), c[0]);
      assertTrue(e.getMessage().startsWith(file + ":3: " + c[1]), c[0] + " -> " + e.getMessage());
    }
  }

  @Test
  void defaultTaskFillsRowsWithoutOne() throws IOException {
    Path file = file("t.jsonl", "{\"query\": \"q\", \"pos\": [\"p\"]}", "{\"query\": \"q\", \"pos\": [\"p\"],"
        + " \"task\": \"icl\"}");
    Read read = TrainingData.reader().defaultTask(Task.TOOL).build().read(file);
    assertEquals(List.of(Task.TOOL, Task.ICL), read.examples().stream().map(TrainingExample::task).toList());
  }

  @Test
  void missingFileIsNoSuchFile() {
    assertThrows(NoSuchFileException.class, () -> TrainingData.read(dir.resolve("absent.jsonl")));
  }

  @Test
  void writeThenReadGivesEqualExamples() throws IOException {
    List<TrainingExample> examples = new ArrayList<>();
    for (String task : List.of("qa", "icl", "tool", "convsearch")) {
      examples.addAll(TrainingData.read(toy(task)).examples());
    }
    examples.addAll(TrainingData.reader().positiveFromTeacher(true).build().read(toy("chat")).examples());
    examples.add(new TrainingExample("unicode \"quoted\" ✓ 🦙\nnew line", List.of("p\ttab"), List.of(),
        List.of(0.1 + 0.2), List.of(), Task.LRLM));
    Path out = dir.resolve("sub/dir/train.jsonl");
    TrainingData.write(out, examples);
    assertEquals(examples, TrainingData.read(out).examples());
    assertEquals(examples.size(), Files.readAllLines(out).size());

    // no teacher_scores field when unscored (LLM-Embedder reads its presence as "scored")
    JsonNode tool = JSON.readTree(Files.readAllLines(out).get(16));
    assertEquals(Task.TOOL.id(), tool.get("task").textValue());
    assertTrue(tool.get("teacher_scores") == null);
    assertEquals(List.of("query", "pos", "neg", "answers", "task"), fieldNames(tool));

    // replacing an existing file leaves only the new content and no temporary file behind
    TrainingData.write(out, examples.subList(0, 2));
    assertEquals(examples.subList(0, 2), TrainingData.read(out).examples());
    try (Stream<Path> files = Files.list(out.getParent())) {
      assertEquals(List.of(out), files.toList());
    }
  }

  @Test
  void aFailedWriteLeavesTheOldFile() throws IOException {
    Path out = dir.resolve("train.jsonl");
    TrainingExample a = new TrainingExample("q", List.of("p"), null, null, null, Task.QA);
    TrainingData.write(out, List.of(a));
    List<TrainingExample> withNull = new ArrayList<>();
    withNull.add(a);
    withNull.add(null);
    NullPointerException e = assertThrows(NullPointerException.class, () -> TrainingData.write(out, withNull));
    assertEquals("examples holds null at position 1", e.getMessage());
    assertEquals(List.of(a), TrainingData.read(out).examples());
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(out), files.toList());
    }
    assertNotEquals(0, Files.size(out));
  }

  @Test
  void readerOptionsAreChecked() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainingData.reader().minNegatives(-1));
    assertEquals("minNegatives is -1; expected >= 0", e.getMessage());
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
