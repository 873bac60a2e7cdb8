package dev.llmembedder.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.internal.AtomicFile;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads and writes training examples in LLM-Embedder's JSON-lines format (FlagEmbedding
 * {@code research/llm_embedder/data/toy/*.json}, one JSON object a line, UTF-8):
 *
 * <pre>{"query": "...", "pos": ["..."], "neg": ["...", ...], "teacher_scores": [..], "answers": ["..."], "task": "qa"}</pre>
 *
 * <p><b>Fields read</b> (anything else, such as {@code query_id}, {@code qid}, {@code pos_scores}, is ignored):
 * <ul>
 *   <li>{@code query}: string, not blank; required.
 *   <li>{@code pos}, {@code neg}: arrays of strings, the positive and negative keys; missing means empty.
 *   <li>{@code pos_index}, {@code neg_index}: arrays of integers, used only where {@code pos} / {@code neg} is
 *       missing. Each is a <em>0-based line number</em> of the corpus file given to
 *       {@link Reader.Builder#corpus(Path)}, as LLM-Embedder indexes its corpora (its {@code qa} rows' indices are MS
 *       MARCO passage ids, which are the rows of MS MARCO's collection). A corpus named {@code *.jsonl} or
 *       {@code *.json} holds a JSON object a line with {@code text} and optionally {@code title} (the key is
 *       {@code title + " " + text}, or {@code text} when there is no title; id fields are not consulted); any other
 *       file holds one passage a line as plain text. Only the lines referred to are kept in memory.
 *   <li>{@code history}: array of strings (LLM-Embedder's {@code chat} rows): the candidate keys, read as
 *       negatives with no positive, as LLM-Embedder does; a row may not have both {@code history} and
 *       {@code pos} / {@code neg}.
 *   <li>{@code teacher_scores}: array of finite numbers, one per candidate, positives first then negatives;
 *       missing means not scored yet.
 *   <li>{@code answers}: array of strings; missing means none.
 *   <li>{@code task}: one of {@code qa, icl, chat, lrlm, tool, convsearch} ({@link Task#fromId}); required unless
 *       {@link Reader.Builder#defaultTask(Task)} is set.
 * </ul>
 *
 * <p><b>Errors.</b> A malformed row (not a JSON object, a field of the wrong type, a blank query, an unknown task,
 * teacher scores that do not match the candidates, an index past the corpus's end) fails the whole read with an
 * {@link IOException} whose message reads {@code <file>:<line>: field '<name>' <problem>}. Blank lines are skipped.
 *
 * <p><b>Skipped rows.</b> Well-formed rows that cannot or should not be used are skipped and counted per {@link Skip}
 * reason in the {@link Read} result, each under the first reason that applies in the order of {@link Skip}.
 *
 * <p><b>Writing.</b> {@link #write} writes the format back (the fields {@code query, pos, neg, teacher_scores} (only
 * when scored){@code , answers, task}, in that order), atomically; reading what it wrote gives equal examples.
 *
 * <p>Stateless and thread-safe; so is every {@link Reader}.
 */
public final class TrainingData {
  private TrainingData() {}

  /** Why a well-formed row was skipped. */
  public enum Skip {
    /**
     * The row has no positive key ({@code pos} empty or missing, or a {@code history} row), and no positive was
     * chosen from the teacher scores ({@link Reader.Builder#positiveFromTeacher(boolean)} off, or no scores).
     */
    NO_POSITIVE,
    /** The row has no teacher scores and {@link Reader.Builder#requireTeacherScores(boolean)} is on. */
    NO_TEACHER_SCORES,
    /** The row has fewer negatives than {@link Reader.Builder#minNegatives(int)}. */
    TOO_FEW_NEGATIVES
  }

  /**
   * The outcome of a read.
   *
   * @param examples the examples, in file order (files in the order given)
   * @param skipped how many well-formed rows were skipped, per reason; every reason is a key (0 when none)
   */
  public record Read(List<TrainingExample> examples, Map<Skip, Integer> skipped) {
    /** Copies both into unmodifiable collections; reasons missing from {@code skipped} count 0. */
    public Read {
      examples = List.copyOf(Objects.requireNonNull(examples, "examples"));
      skipped = SkipCounts.complete(Skip.class, skipped);
    }

    /** The number of rows skipped for any reason. */
    public int skippedTotal() {
      return SkipCounts.total(skipped);
    }

    /** A summary such as {@code "8 examples, 2 skipped (NO_POSITIVE 2)"}. */
    @Override
    public String toString() {
      return SkipCounts.summary(examples, skipped);
    }
  }

  /**
   * Reads {@code file} with the default options: no corpus, no default task, rows without a positive skipped, teacher
   * scores optional, no minimum of negatives.
   *
   * @throws IOException if the file cannot be read or a row is malformed (see the class documentation)
   */
  public static Read read(Path file) throws IOException {
    return reader().build().read(file);
  }

  /** Options for reading; {@link Reader.Builder#build()} gives a reusable {@link Reader}. */
  public static Reader.Builder reader() {
    return new Reader.Builder();
  }

  /**
   * Writes {@code examples} to {@code file} in LLM-Embedder's format, one a line, replacing the file atomically
   * (temporary file beside it, fsync, rename, directory fsync): a crash leaves the old file or the new one, never
   * a mix. Parent directories are created.
   *
   * @throws IOException if writing fails; the old file, if any, is then left as it was
   */
  public static void write(Path file, Iterable<? extends TrainingExample> examples) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(examples, "examples");
    AtomicFile.write(file, stream -> {
      Writer out = new OutputStreamWriter(stream, StandardCharsets.UTF_8.newEncoder());
      int position = 0;
      for (TrainingExample example : examples) {
        if (example == null) {
          throw new NullPointerException("examples holds null at position " + position);
        }
        out.write(Rows.MAPPER.writeValueAsString(toJson(example)));
        out.write('\n');
        position++;
      }
      out.flush();
    });
  }

  private static ObjectNode toJson(TrainingExample example) {
    ObjectNode row = Rows.MAPPER.createObjectNode();
    row.put("query", example.query());
    example.positives().forEach(row.putArray("pos")::add);
    example.negatives().forEach(row.putArray("neg")::add);
    if (!example.teacherScores().isEmpty()) {
      ArrayNode scores = row.putArray("teacher_scores");
      example.teacherScores().forEach(scores::add);
    }
    example.answers().forEach(row.putArray("answers")::add);
    row.put("task", example.task().id());
    return row;
  }

  /**
   * Reads training files with fixed options. Immutable and thread-safe.
   */
  public static final class Reader {
    private final Path corpus;
    private final Task defaultTask;
    private final boolean positiveFromTeacher;
    private final boolean requireTeacherScores;
    private final int minNegatives;

    private Reader(Builder b) {
      this.corpus = b.corpus;
      this.defaultTask = b.defaultTask;
      this.positiveFromTeacher = b.positiveFromTeacher;
      this.requireTeacherScores = b.requireTeacherScores;
      this.minNegatives = b.minNegatives;
    }

    /**
     * Reads one file.
     *
     * @throws java.nio.file.NoSuchFileException if the file (or the corpus) is missing
     * @throws IOException if a file cannot be read or a row is malformed; the message names the file, line and field
     */
    public Read read(Path file) throws IOException {
      return read(List.of(Objects.requireNonNull(file, "file")));
    }

    /**
     * Reads several files into one result, in the order given (as LLM-Embedder concatenates its task files). The
     * corpus, if any, is read once, after the training files.
     *
     * @throws IOException as {@link #read(Path)}
     */
    public Read read(List<Path> files) throws IOException {
      Objects.requireNonNull(files, "files");
      List<RawRow> rows = new ArrayList<>();
      BitSet wanted = new BitSet();
      for (Path file : files) {
        Objects.requireNonNull(file, "files holds null");
        Rows.forEachLine(file, (line, lineNo) -> {
          if (!line.isBlank()) {
            RawRow row = parse(file, lineNo, Rows.parseObject(file, lineNo, line));
            row.want(wanted);
            rows.add(row);
          }
        });
      }
      CorpusLines lines = wanted.isEmpty() ? null : CorpusLines.read(corpus, wanted);
      List<TrainingExample> examples = new ArrayList<>(rows.size());
      Map<Skip, Integer> skipped = new EnumMap<>(Skip.class);
      for (RawRow row : rows) {
        Object outcome = resolve(row, lines);
        if (outcome instanceof Skip reason) {
          skipped.merge(reason, 1, Integer::sum);
        } else {
          examples.add((TrainingExample) outcome);
        }
      }
      return new Read(examples, skipped);
    }

    /** One row as written: texts or corpus indices, not yet resolved or checked against each other. */
    private record RawRow(Path file, long lineNo, String query, List<String> pos, int[] posIndex, List<String> neg,
        int[] negIndex, List<Double> teacherScores, List<String> answers, Task task) {
      void want(BitSet wanted) {
        for (int[] indices : new int[][] {pos == null ? posIndex : null, neg == null ? negIndex : null}) {
          if (indices != null) {
            for (int i : indices) {
              wanted.set(i);
            }
          }
        }
      }
    }

    private RawRow parse(Path file, long lineNo, JsonNode row) throws IOException {
      String query = Rows.string(file, lineNo, row, "query", true);
      if (query.isBlank()) {
        throw Rows.malformed(file, lineNo, "query", "is blank; expected the query text");
      }
      List<String> pos = Rows.strings(file, lineNo, row, "pos");
      List<String> neg = Rows.strings(file, lineNo, row, "neg");
      int[] posIndex = Rows.indices(file, lineNo, row, "pos_index");
      int[] negIndex = Rows.indices(file, lineNo, row, "neg_index");
      List<String> history = Rows.strings(file, lineNo, row, "history");
      if (history != null) {
        for (String field : List.of("pos", "neg", "pos_index", "neg_index")) {
          JsonNode value = row.get(field);
          if (value != null && !value.isNull() && !value.isEmpty()) {
            throw Rows.malformed(file, lineNo, field, "is given together with 'history'; expected one of them"
                + " ('history' is read as negatives with no positive)");
          }
        }
        pos = List.of();
        neg = history;
        posIndex = null;
        negIndex = null;
      }
      for (String field : List.of("pos_index", "neg_index")) {
        boolean textsMissing = field.startsWith("pos") ? pos == null && posIndex != null
            : neg == null && negIndex != null;
        if (textsMissing && corpus == null) {
          throw Rows.malformed(file, lineNo, field, "refers to corpus lines, but no corpus was given"
              + " (TrainingData.reader().corpus(path)); give one, or put the texts in '" + field.substring(0, 3)
              + "'");
        }
      }
      Task task;
      String taskId = Rows.string(file, lineNo, row, "task", defaultTask == null);
      try {
        task = taskId == null ? defaultTask : Task.fromId(taskId);
      } catch (IllegalArgumentException e) {
        throw Rows.malformed(file, lineNo, "task", "is '" + taskId + "'; allowed: qa, icl, chat, lrlm, tool,"
            + " convsearch");
      }
      return new RawRow(file, lineNo, query, pos, posIndex, neg, negIndex,
          Rows.numbers(file, lineNo, row, "teacher_scores"), Rows.strings(file, lineNo, row, "answers"), task);
    }

    /** The example of a parsed row, or the reason it is skipped. */
    private Object resolve(RawRow row, CorpusLines lines) throws IOException {
      List<String> positives = texts(row, "pos", row.pos(), row.posIndex(), lines);
      List<String> negatives = texts(row, "neg", row.neg(), row.negIndex(), lines);
      List<Double> scores = row.teacherScores();
      if (scores != null && scores.size() != positives.size() + negatives.size()) {
        throw Rows.malformed(row.file(), row.lineNo(), "teacher_scores", "has " + scores.size() + " scores for "
            + positives.size() + " positives and " + negatives.size() + " negatives; expected one per candidate,"
            + " positives first");
      }
      if (positives.isEmpty()) {
        if (!positiveFromTeacher || scores == null || scores.isEmpty()) {
          return Skip.NO_POSITIVE;
        }
        // LLM-Embedder's select_positive="teacher": the best-scored candidate (the first of ties) is the positive
        int best = 0;
        for (int i = 1; i < scores.size(); i++) {
          if (scores.get(i) > scores.get(best)) {
            best = i;
          }
        }
        negatives = new ArrayList<>(negatives);
        List<Double> reordered = new ArrayList<>(scores);
        positives = List.of(negatives.remove(best));
        reordered.addFirst(reordered.remove(best));
        scores = reordered;
      }
      if (requireTeacherScores && (scores == null || scores.isEmpty())) {
        return Skip.NO_TEACHER_SCORES;
      }
      if (negatives.size() < minNegatives) {
        return Skip.TOO_FEW_NEGATIVES;
      }
      try {
        return new TrainingExample(row.query(), positives, negatives, scores, row.answers(), row.task());
      } catch (IllegalArgumentException | NullPointerException e) {
        throw Rows.malformed(row.file(), row.lineNo(), e.getMessage());
      }
    }

    private static List<String> texts(RawRow row, String field, List<String> texts, int[] indices,
        CorpusLines lines) throws IOException {
      if (texts != null) {
        return texts;
      }
      if (indices == null) {
        return List.of();
      }
      List<String> out = new ArrayList<>(indices.length);
      for (int i = 0; i < indices.length; i++) {
        out.add(lines.passage(indices[i], row.file() + ":" + row.lineNo() + ": field '" + field + "_index' item "
            + i));
      }
      return out;
    }

    /**
     * Options of a {@link Reader}. Not thread-safe; the reader it builds is.
     */
    public static final class Builder {
      private Path corpus;
      private Task defaultTask;
      private boolean positiveFromTeacher;
      private boolean requireTeacherScores;
      private int minNegatives;

      private Builder() {}

      /**
       * The corpus that {@code pos_index} / {@code neg_index} refer to by 0-based line number (see the class
       * documentation for its two formats). Only needed for rows that lack the texts; default none.
       */
      public Builder corpus(Path corpus) {
        this.corpus = Objects.requireNonNull(corpus, "corpus");
        return this;
      }

      /** The task of rows without a {@code task} field; default none (such rows are malformed). */
      public Builder defaultTask(Task task) {
        this.defaultTask = Objects.requireNonNull(task, "task");
        return this;
      }

      /**
       * Whether a row without a positive but with teacher scores takes its best-scored candidate (the first of ties)
       * as its positive, moved out of the negatives with its score moved first: LLM-Embedder's
       * {@code select_positive="teacher"}, the way its {@code chat} and {@code lrlm} data have positives at all.
       * Default off: such rows are skipped as {@link Skip#NO_POSITIVE}.
       */
      public Builder positiveFromTeacher(boolean on) {
        this.positiveFromTeacher = on;
        return this;
      }

      /** Whether rows without teacher scores are skipped ({@link Skip#NO_TEACHER_SCORES}); default off. */
      public Builder requireTeacherScores(boolean on) {
        this.requireTeacherScores = on;
        return this;
      }

      /**
       * Rows with fewer negatives are skipped ({@link Skip#TOO_FEW_NEGATIVES}); default 0 (LLM-Embedder itself drops
       * rows with none: set 1 to do the same).
       *
       * @throws IllegalArgumentException if {@code n} is negative
       */
      public Builder minNegatives(int n) {
        if (n < 0) {
          throw new IllegalArgumentException("minNegatives is " + n + "; expected >= 0");
        }
        this.minNegatives = n;
        return this;
      }

      /** The reader. */
      public Reader build() {
        return new Reader(this);
      }
    }
  }
}
