package dev.llmembedder.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The passages of a corpus file that training rows refer to by {@code pos_index} / {@code neg_index}: passage
 * {@code i} is line {@code i + 1} (0-based line numbers, LLM-Embedder's row indices). Only the wanted lines are kept,
 * so a corpus of millions of passages (MS MARCO's 8.8 million) is streamed, not held.
 *
 * <p>A file named {@code *.jsonl} or {@code *.json} holds one JSON object a line with a string {@code text} and
 * optionally a string {@code title}; the passage is {@code title + " " + text}, or {@code text} when the title is
 * missing or empty. Any other file holds one passage a line, as plain text.
 */
final class CorpusLines {
  private final Path file;
  private final long lines;
  private final Map<Integer, String> passages;

  private CorpusLines(Path file, long lines, Map<Integer, String> passages) {
    this.file = file;
    this.lines = lines;
    this.passages = passages;
  }

  /** Reads the lines of {@code file} whose 0-based numbers are set in {@code wanted}. */
  static CorpusLines read(Path file, BitSet wanted) throws IOException {
    boolean json = isJson(file);
    Map<Integer, String> passages = new HashMap<>(Math.max(16, wanted.cardinality() * 2));
    long[] count = {0};
    Rows.forEachLine(file, (line, lineNo) -> {
      count[0] = lineNo;
      long index = lineNo - 1;
      if (index > Integer.MAX_VALUE || !wanted.get((int) index)) {
        return;
      }
      passages.put((int) index, json ? jsonPassage(file, lineNo, line) : line);
    });
    return new CorpusLines(file, count[0], passages);
  }

  /** Whether {@code file} is read as JSON lines (its name ends in {@code .jsonl} or {@code .json}). */
  static boolean isJson(Path file) {
    Path name = file.getFileName();
    String s = name == null ? "" : name.toString().toLowerCase(Locale.ROOT);
    return s.endsWith(".jsonl") || s.endsWith(".json");
  }

  /**
   * The passage at 0-based line {@code index}.
   *
   * @param where {@code <file>:<line>: field '<name>' item <i>} of the row asking, for the error message
   * @throws IOException if the corpus has no such line
   */
  String passage(int index, String where) throws IOException {
    String passage = passages.get(index);
    if (passage == null) {
      throw new IOException(where + " is " + index + ", but corpus " + file + " has " + lines
          + " lines (indices 0 to " + (lines - 1) + ")");
    }
    return passage;
  }

  private static String jsonPassage(Path file, long lineNo, String line) throws IOException {
    if (line.isBlank()) {
      throw Rows.malformed(file, lineNo, "blank, but a training row refers to it; expected a JSON object with"
          + " 'text'");
    }
    JsonNode row = Rows.parseObject(file, lineNo, line);
    String text = Rows.string(file, lineNo, row, "text", true);
    String title = Rows.string(file, lineNo, row, "title", false);
    return title == null || title.isEmpty() ? text : title + " " + text;
  }
}
