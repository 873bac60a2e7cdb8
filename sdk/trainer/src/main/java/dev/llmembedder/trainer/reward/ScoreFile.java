package dev.llmembedder.trainer.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.data.TrainingExample;
import dev.llmembedder.trainer.internal.AtomicFile;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Fills the {@code teacher_scores} of a training file (LLM-Embedder's JSON-lines format, see
 * {@link dev.llmembedder.trainer.data.TrainingData}) with a {@link TeacherScoring}, resumably: an interrupted run
 * (a crash, Ctrl-C, a failing server) continues where it stopped when run again with the same arguments, and no row is
 * scored twice or lost.
 *
 * <p><b>Rows.</b> Every non-blank input line is one row and gives exactly one output line, in input order; blank lines
 * are dropped. A row is written back as it was read (every field kept, in its order, {@code query_id} and the like
 * included) with {@code teacher_scores} set to one reward per candidate: {@code pos} then {@code neg}, or
 * {@code history} for LLM-Embedder's chat rows. A row is copied unchanged, and counted, when it already has
 * {@code teacher_scores} (unless {@link Builder#rescore(boolean)}), has no {@code answers} (the reward needs one),
 * or has no candidate. A row whose candidates are only corpus indices ({@code pos_index} / {@code neg_index} without
 * texts) is refused: resolve the texts first.
 *
 * <p><b>Resuming.</b> Scored rows are appended to {@code <out>.partial}, one complete JSON line each, in input order;
 * after every {@link Builder#syncEvery(int) syncEvery} rows the file is flushed and fsynced. Beside it,
 * {@code <out>.partial.settings} holds the {@link Builder#settings(String) settings} text of the run (the scorer and
 * its options). A new run with an existing partial file refuses other settings, then keeps the longest prefix of
 * complete lines that each parse as a JSON object and whose {@code query} is the matching input row's (anything after
 * it, such as a half-written last line, is cut off), skips that many input rows and appends the rest. At the end the
 * partial file is fsynced and renamed atomically to {@code out}, and the settings file deleted: {@code out} is
 * either absent or complete.
 *
 * <p><b>Same scores.</b> Rows are scored in chunks at fixed multiples of {@code syncEvery} (rows 0..n-1, n..2n-1, ...),
 * one scorer call each, so a run resumed at a sync point makes exactly the scorer calls of an uninterrupted run and
 * writes the same bytes. A run resumed inside a chunk (a crash left part of a chunk on disk) scores the rest of that
 * chunk in a smaller call; batched scorers may then differ from an uninterrupted run in the last bits (see
 * {@link OnnxCausalLmScorer} on batching).
 *
 * <p>Not thread-safe; one run per output file at a time.
 */
public final class ScoreFile {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final ObjectReader JSON = MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Hears of progress, on the scoring thread; an exception thrown here stops the run (resumable). */
  @FunctionalInterface
  public interface Listener {
    /**
     * Once at the start (with the rows resumed, 0 for a fresh run), then after each chunk of rows was made durable in
     * the partial file.
     *
     * @param done rows in the partial file so far, resumed ones included
     * @param total rows of the input
     */
    void onProgress(int done, int total);
  }

  /**
   * What a run did.
   *
   * @param rows rows of the input (= lines of the output)
   * @param resumed rows found already done in the partial file and skipped
   * @param scored rows scored by this run
   * @param keptScores rows of this run copied because they already had teacher scores
   * @param noAnswers rows of this run copied without scores because they have no answer
   * @param noCandidates rows of this run copied without scores because they have no candidate
   * @param droppedBytes bytes cut off the end of the partial file (an incomplete or damaged tail)
   */
  public record Result(int rows, int resumed, int scored, int keptScores, int noAnswers, int noCandidates,
      long droppedBytes) {}

  private final TeacherScoring scoring;
  private final boolean rescore;
  private final int syncEvery;
  private final String settings;
  private final Listener listener;

  private ScoreFile(Builder b) {
    this.scoring = b.scoring;
    this.rescore = b.rescore;
    this.syncEvery = b.syncEvery;
    this.settings = b.settings;
    this.listener = b.listener;
  }

  /** A builder scoring with {@code scoring} (not closed by this class). */
  public static Builder builder(TeacherScoring scoring) {
    return new Builder(scoring);
  }

  /** The partial file of {@code out}: {@code <out>.partial}. */
  public static Path partialFile(Path out) {
    return out.resolveSibling(out.getFileName() + ".partial");
  }

  /** The settings file of {@code out}'s partial file: {@code <out>.partial.settings}. */
  public static Path settingsFile(Path out) {
    return out.resolveSibling(out.getFileName() + ".partial.settings");
  }

  /**
   * Scores {@code in} into {@code out}, resuming {@code out}'s partial file if there is one (see the class comment).
   *
   * @throws IOException if a file cannot be read or written, an input row is malformed (the message names the line),
   *     or the partial file belongs to another run (other settings, or other rows: delete it to start afresh)
   * @throws IllegalArgumentException or {@link IllegalStateException} as {@link TeacherScoring#withScores} (the rows
   *     before the failing batch stay in the partial file)
   */
  public Result run(Path in, Path out) throws IOException {
    Objects.requireNonNull(in, "in");
    Objects.requireNonNull(out, "out");
    Path target = out.toAbsolutePath();
    Files.createDirectories(target.getParent());
    Path partial = partialFile(target);
    Path settingsPath = settingsFile(target);
    List<String> lines = inputRows(in);
    int total = lines.size();

    long keep = 0;
    int resumed = 0;
    long size = 0;
    if (Files.exists(partial)) {
      String previous = Files.exists(settingsPath) ? Files.readString(settingsPath, StandardCharsets.UTF_8) : null;
      if (previous == null || !previous.equals(settings)) {
        throw new IOException("partial file " + partial + " was written " + (previous == null
            ? "without its settings file " + settingsPath : "with other settings {" + previous + "}") + "; this run"
            + " has {" + settings + "}. Run with the same settings to resume, or delete it to start afresh");
      }
      size = Files.size(partial);
      long[] prefix = validPrefix(partial, lines, in);
      keep = prefix[0];
      resumed = (int) prefix[1];
    } else {
      Files.deleteIfExists(settingsPath);
      writeSettings(settingsPath);
    }

    int scored = 0;
    int kept = 0;
    int noAnswers = 0;
    int noCandidates = 0;
    try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      channel.truncate(keep);
      channel.position(keep);
      channel.force(true);
      listener.onProgress(resumed, total); // the starting point: a progress bar learns the total at once
      // chunks at fixed multiples of syncEvery, whatever the resume point: a run resumed at a sync point makes the
      // scorer calls of an uninterrupted run, so its scores are bit-identical (batch composition can change rounding)
      for (int from = resumed, to; from < total; from = to) {
        to = Math.min((from / syncEvery + 1) * syncEvery, total);
        List<ObjectNode> rows = new ArrayList<>(to - from);
        List<Integer> toScore = new ArrayList<>();
        List<TrainingExample> examples = new ArrayList<>();
        for (int i = from; i < to; i++) {
          ObjectNode row = parse(in, i, lines.get(i));
          rows.add(row);
          if (present(row, "teacher_scores") && !rescore) {
            kept++;
            continue;
          }
          List<String> candidates = candidates(in, i, row);
          List<String> answers = strings(in, i, row, "answers");
          if (candidates.isEmpty()) {
            noCandidates++;
          } else if (answers == null || answers.isEmpty()) {
            noAnswers++;
          } else {
            toScore.add(rows.size() - 1);
            // the candidates in order, as one positive and the rest: candidates() keeps their order; the task does
            // not enter the reward
            examples.add(new TrainingExample(row.get("query").asText(), candidates.subList(0, 1),
                candidates.subList(1, candidates.size()), null, answers, Task.QA));
          }
        }
        List<TrainingExample> withScores = examples.isEmpty() ? List.of() : scoring.withScores(examples);
        for (int k = 0; k < toScore.size(); k++) {
          ObjectNode row = rows.get(toScore.get(k));
          ArrayNode array = MAPPER.createArrayNode();
          withScores.get(k).teacherScores().forEach(array::add);
          row.set("teacher_scores", array);
          scored++;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (ObjectNode row : rows) {
          bytes.write(MAPPER.writeValueAsBytes(row));
          bytes.write('\n');
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes.toByteArray());
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        channel.force(true);
        listener.onProgress(to, total);
      }
    }
    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    AtomicFile.fsyncDirectory(target.getParent());
    Files.deleteIfExists(settingsPath);
    return new Result(total, resumed, scored, kept, noAnswers, noCandidates, size - keep);
  }

  private void writeSettings(Path settingsPath) throws IOException {
    AtomicFile.write(settingsPath, settings.getBytes(StandardCharsets.UTF_8));
  }

  /** The non-blank lines of the input. */
  private static List<String> inputRows(Path in) throws IOException {
    List<String> rows = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.UTF_8)) {
      for (String line; (line = reader.readLine()) != null; ) {
        if (!line.isBlank()) {
          rows.add(line);
        }
      }
    }
    return rows;
  }

  /**
   * {bytes, rows} of the longest valid prefix of the partial file: complete lines, each a JSON object whose query is
   * the matching input row's.
   *
   * @throws IOException if the partial file has more rows than the input, or a complete row's query differs from the
   *     input's (another input)
   */
  private static long[] validPrefix(Path partial, List<String> lines, Path in) throws IOException {
    long bytes = 0;
    int rows = 0;
    try (InputStream stream = new BufferedInputStream(Files.newInputStream(partial), 1 << 16)) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int b;
      while ((b = stream.read()) != -1) {
        if (b != '\n') {
          line.write(b);
          continue;
        }
        JsonNode row;
        try {
          row = JSON.readTree(line.toString(StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
          break; // a damaged line: it and everything after it are redone
        }
        if (row == null || !row.isObject()) {
          break;
        }
        if (rows >= lines.size()) {
          throw new IOException("partial file " + partial + " has more rows than the " + lines.size() + " of " + in
              + "; it belongs to another input: delete it to start afresh");
        }
        String expected = parse(in, rows, lines.get(rows)).path("query").asText();
        if (!expected.equals(row.path("query").asText())) {
          throw new IOException("partial file " + partial + " row " + (rows + 1) + " has the query '"
              + abbreviate(row.path("query").asText()) + "', but row " + (rows + 1) + " of " + in + " has '"
              + abbreviate(expected) + "'; it belongs to another input: delete it to start afresh");
        }
        bytes += line.size() + 1;
        rows++;
        line.reset();
      }
    }
    return new long[] {bytes, rows};
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }

  private static ObjectNode parse(Path in, int row, String line) throws IOException {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw malformed(in, row, "is not valid JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw malformed(in, row, "is not a JSON object");
    }
    JsonNode query = node.get("query");
    if (query == null || !query.isTextual() || query.asText().isBlank()) {
      throw malformed(in, row, "has no query text (field 'query')");
    }
    return (ObjectNode) node;
  }

  /** pos then neg, or history; refuses corpus indices without texts. */
  private static List<String> candidates(Path in, int row, ObjectNode node) throws IOException {
    List<String> history = strings(in, row, node, "history");
    if (history != null && !history.isEmpty()) {
      return history;
    }
    List<String> out = new ArrayList<>();
    for (String field : List.of("pos", "neg")) {
      List<String> texts = strings(in, row, node, field);
      if (texts == null && present(node, field + "_index")) {
        throw malformed(in, row, "has '" + field + "_index' but no '" + field + "' texts; scoring needs the texts"
            + " (write them with TrainingData.reader().corpus(...) and TrainingData.write first)");
      }
      if (texts != null) {
        out.addAll(texts);
      }
    }
    return out;
  }

  private static boolean present(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value != null && !value.isNull();
  }

  private static List<String> strings(Path in, int row, JsonNode node, String field) throws IOException {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isArray()) {
      throw malformed(in, row, "field '" + field + "' is not an array of strings");
    }
    List<String> out = new ArrayList<>(value.size());
    for (JsonNode item : value) {
      if (!item.isTextual()) {
        throw malformed(in, row, "field '" + field + "' holds a " + item.getNodeType() + "; expected strings");
      }
      out.add(item.asText());
    }
    return out;
  }

  private static IOException malformed(Path in, int row, String problem) {
    return new IOException(in + ": row " + (row + 1) + " (non-blank lines counted) " + problem);
  }

  /** Options of a {@link ScoreFile}. Not thread-safe. */
  public static final class Builder {
    private final TeacherScoring scoring;
    private boolean rescore;
    private int syncEvery = 8;
    private String settings = "";
    private Listener listener = (done, total) -> {};

    private Builder(TeacherScoring scoring) {
      this.scoring = Objects.requireNonNull(scoring, "scoring");
    }

    /** Whether rows that already have teacher scores are scored again (default false: kept as they are). */
    public Builder rescore(boolean rescore) {
      this.rescore = rescore;
      return this;
    }

    /**
     * Rows scored per call of the scorer and written per fsync (default 8): the most work an interruption loses.
     *
     * @throws IllegalArgumentException if {@code rows < 1}
     */
    public Builder syncEvery(int rows) {
      if (rows < 1) {
        throw new IllegalArgumentException("syncEvery is " + rows + "; expected >= 1");
      }
      this.syncEvery = rows;
      return this;
    }

    /**
     * A description of everything that changes the scores (model, reduction, answer policy, prompt, rescore): a
     * partial file is resumed only by a run with the same text. Default empty.
     */
    public Builder settings(String settings) {
      this.settings = Objects.requireNonNull(settings, "settings");
      return this;
    }

    /** Hears of progress (default none). */
    public Builder listener(Listener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** The scorer of files. */
    public ScoreFile build() {
      return new ScoreFile(this);
    }
  }
}
