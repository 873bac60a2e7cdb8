package dev.llmembedder.trainer.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Line-by-line reading of JSON-lines files and typed access to their fields; every error is an {@link IOException}
 * whose message reads {@code <file>:<line>: field '<name>': <problem>}.
 */
final class Rows {
  static final ObjectMapper MAPPER = new ObjectMapper();
  private static final ObjectReader JSON = MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private Rows() {}

  /** What to do with one line; {@code lineNo} counts from 1. */
  interface LineHandler {
    void accept(String line, long lineNo) throws IOException;
  }

  /** Calls {@code handler} with every line of {@code file} (UTF-8), blank ones included. */
  static void forEachLine(Path file, LineHandler handler) throws IOException {
    long lineNo = 0;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line; (line = in.readLine()) != null; ) {
        handler.accept(line, ++lineNo);
      }
    } catch (CharacterCodingException e) {
      // was the bare MalformedInputException ("Input length = 1"), naming neither file nor line (found by fuzzing);
      // BufferedReader decodes ahead, so the bad bytes may lie a few lines further on
      throw malformed(file, lineNo + 1, "not valid UTF-8 on this line or shortly after (" + e + ")");
    }
  }

  /** The JSON object on one line. */
  static JsonNode parseObject(Path file, long lineNo, String line) throws IOException {
    JsonNode row;
    try {
      row = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw malformed(file, lineNo, "not valid JSON: " + e.getOriginalMessage());
    }
    if (row == null || !row.isObject()) {
      throw malformed(file, lineNo, "expected a JSON object, found " + (row == null ? "nothing" : row.getNodeType()));
    }
    return row;
  }

  /** Whether {@code row} has {@code field} with a non-null value. */
  static boolean present(JsonNode row, String field) {
    JsonNode value = row.get(field);
    return value != null && !value.isNull();
  }

  /** A string field; null when absent or JSON null and not {@code required}. */
  static String string(Path file, long lineNo, JsonNode row, String field, boolean required) throws IOException {
    JsonNode value = row.get(field);
    if (value == null || value.isNull()) {
      if (required) {
        throw malformed(file, lineNo, field, "is missing; expected a string");
      }
      return null;
    }
    if (!value.isTextual()) {
      throw malformed(file, lineNo, field, "is a " + value.getNodeType() + "; expected a string");
    }
    return value.textValue();
  }

  /** An array of strings; null when absent or JSON null. */
  static List<String> strings(Path file, long lineNo, JsonNode row, String field) throws IOException {
    JsonNode array = array(file, lineNo, row, field, "strings");
    if (array == null) {
      return null;
    }
    List<String> out = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      JsonNode item = array.get(i);
      if (!item.isTextual()) {
        throw malformed(file, lineNo, field, "item " + i + " is a " + item.getNodeType() + "; expected a string");
      }
      out.add(item.textValue());
    }
    return out;
  }

  /** An array of finite numbers; null when absent or JSON null. */
  static List<Double> numbers(Path file, long lineNo, JsonNode row, String field) throws IOException {
    JsonNode array = array(file, lineNo, row, field, "numbers");
    if (array == null) {
      return null;
    }
    List<Double> out = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      JsonNode item = array.get(i);
      if (!item.isNumber() || !Double.isFinite(item.doubleValue())) {
        throw malformed(file, lineNo, field, "item " + i + " is " + (item.isNumber() ? item.asText() + ", not finite"
            : "a " + item.getNodeType()) + "; expected a finite number");
      }
      out.add(item.doubleValue());
    }
    return out;
  }

  /** An array of integers in {@code [0, Integer.MAX_VALUE]}; null when absent or JSON null. */
  static int[] indices(Path file, long lineNo, JsonNode row, String field) throws IOException {
    JsonNode array = array(file, lineNo, row, field, "integers");
    if (array == null) {
      return null;
    }
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode item = array.get(i);
      if (!item.isIntegralNumber() || !item.canConvertToInt() || item.intValue() < 0) {
        throw malformed(file, lineNo, field, "item " + i + " is " + (item.isNumber() ? item.asText()
            : "a " + item.getNodeType()) + "; expected a line number of the corpus, an integer in [0, "
            + Integer.MAX_VALUE + "]");
      }
      out[i] = item.intValue();
    }
    return out;
  }

  private static JsonNode array(Path file, long lineNo, JsonNode row, String field, String of) throws IOException {
    JsonNode value = row.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isArray()) {
      throw malformed(file, lineNo, field, "is a " + value.getNodeType() + "; expected an array of " + of);
    }
    return value;
  }

  static IOException malformed(Path file, long lineNo, String field, String problem) {
    return malformed(file, lineNo, "field '" + field + "' " + problem);
  }

  static IOException malformed(Path file, long lineNo, String problem) {
    return new IOException(file + ":" + lineNo + ": " + problem);
  }
}
