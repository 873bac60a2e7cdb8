package dev.llmembedder.retriever;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reading JSON-lines files of objects, with errors that name the file and line. */
final class JsonLines {
  static final ObjectMapper JSON = new ObjectMapper();

  /** What to do with one object; {@code where} is {@code "<file>:<line>"} for error messages. */
  interface RowHandler {
    void accept(String where, int lineNo, JsonNode row) throws IOException;
  }

  private JsonLines() {}

  /**
   * Calls {@code handler} with each line's JSON object, skipping blank lines (UTF-8).
   *
   * @throws IOException naming the file and line of a line that is not a JSON object or not valid UTF-8, or what
   *     the handler throws
   */
  static void forEach(Path file, RowHandler handler) throws IOException {
    int lineNo = 0;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line; (line = in.readLine()) != null; ) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String where = file + ":" + lineNo;
        JsonNode row;
        try {
          row = JSON.readTree(line);
        } catch (JsonProcessingException e) {
          throw new IOException(where + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!row.isObject()) {
          throw new IOException(where + ": expected a JSON object, found " + row.getNodeType());
        }
        handler.accept(where, lineNo, row);
      }
    } catch (CharacterCodingException e) {
      // was the bare MalformedInputException ("Input length = 1"), naming neither file nor line (found by fuzzing);
      // BufferedReader decodes ahead, so the bad bytes may lie a few lines further on
      throw new IOException(file + ":" + (lineNo + 1) + ": not valid UTF-8 on this line or shortly after (" + e
          + ")", e);
    }
  }
}
