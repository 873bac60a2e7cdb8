package dev.llmembedder.eval;

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
import dev.llmembedder.retriever.Tool;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Line-by-line readers of the three BEIR files; every error names the file, the line and the field at fault. */
final class BeirFiles {
  private static final String QRELS_HEADER = "query-id\tcorpus-id\tscore";
  private static final ObjectReader JSON =
      new ObjectMapper().reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private BeirFiles() {}

  /** A consumer of one line that may reject it. */
  private interface LineHandler {
    void accept(String line, long lineNo) throws IOException;
  }

  static Map<String, CorpusDoc> readCorpus(Path file) throws IOException {
    Map<String, CorpusDoc> corpus = new LinkedHashMap<>();
    forEachLine(file, (line, lineNo) -> {
      JsonNode doc = parseObject(file, line, lineNo);
      String id = id(file, doc, lineNo);
      String title = string(file, doc, "title", false, lineNo);
      String text = string(file, doc, "text", true, lineNo);
      if (corpus.putIfAbsent(id, new CorpusDoc(id, title, text)) != null) {
        throw malformed(file, lineNo, "duplicate _id '" + id + "' (already on an earlier line)");
      }
    });
    return corpus;
  }

  /**
   * The tools of a BEIR-layout tool corpus: {@code _id}, {@code title} (the name), {@code text} (the description),
   * and as the API the {@code api} field (a JSON object, or a string holding one) or else the {@code metadata} object.
   */
  static List<Tool> readTools(Path file) throws IOException {
    List<Tool> tools = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    forEachLine(file, (line, lineNo) -> {
      JsonNode doc = parseObject(file, line, lineNo);
      String id = id(file, doc, lineNo);
      if (!ids.add(id)) {
        throw malformed(file, lineNo, "duplicate _id '" + id + "' (already on an earlier line)");
      }
      JsonNode api = doc.has("api") ? doc.get("api") : doc.path("metadata");
      String apiJson = api.isTextual() ? api.textValue() : api.isObject() ? api.toString() : null;
      if (apiJson == null && !api.isMissingNode() && !api.isNull()) {
        throw malformed(file, lineNo, "field '" + (doc.has("api") ? "api" : "metadata") + "' is a "
            + api.getNodeType() + "; expected a JSON object or a string holding one");
      }
      try {
        tools.add(Tool.of(id, string(file, doc, "title", false, lineNo), string(file, doc, "text", true, lineNo),
            apiJson));
      } catch (IllegalArgumentException e) {
        throw malformed(file, lineNo, "field 'api': " + e.getMessage());
      }
    });
    return tools;
  }

  /** The texts of the queries {@code wanted}, in the iteration order of {@code wanted}. */
  static Map<String, String> readQueries(Path file, Path qrelsFile, Set<String> wanted) throws IOException {
    Map<String, String> found = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    forEachLine(file, (line, lineNo) -> {
      JsonNode query = parseObject(file, line, lineNo);
      String id = id(file, query, lineNo);
      String text = string(file, query, "text", true, lineNo);
      if (!seen.add(id)) {
        throw malformed(file, lineNo, "duplicate _id '" + id + "' (already on an earlier line)");
      }
      if (wanted.contains(id)) {
        found.put(id, text);
      }
    });
    Map<String, String> queries = new LinkedHashMap<>();
    for (String id : wanted) {
      String text = found.get(id);
      if (text == null) {
        throw new IOException(qrelsFile + " judges query '" + id + "', which " + file + " lacks");
      }
      queries.put(id, text);
    }
    return queries;
  }

  static Map<String, Map<String, Integer>> readQrels(Path file) throws IOException {
    Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
    forEachLine(file, (line, lineNo) -> {
      if (lineNo == 1) {
        if (!line.equals(QRELS_HEADER)) {
          throw malformed(file, lineNo, "header is '" + line + "'; expected '" + QRELS_HEADER + "'");
        }
        return;
      }
      String[] fields = line.split("\t", -1);
      if (fields.length != 3) {
        throw malformed(file, lineNo, fields.length + " tab-separated fields; expected 3 (query-id, corpus-id,"
            + " score)");
      }
      String queryId = nonEmpty(file, fields[0], "query-id", lineNo);
      String docId = nonEmpty(file, fields[1], "corpus-id", lineNo);
      int score;
      try {
        score = Integer.parseInt(fields[2].strip());
      } catch (NumberFormatException e) {
        throw malformed(file, lineNo, "score '" + fields[2] + "' is not an integer");
      }
      if (qrels.computeIfAbsent(queryId, q -> new LinkedHashMap<>()).putIfAbsent(docId, score) != null) {
        throw malformed(file, lineNo, "duplicate judgment of query-id '" + queryId + "' and corpus-id '" + docId
            + "' (already on an earlier line)");
      }
    });
    if (qrels.isEmpty()) {
      throw new IOException(file + " holds no judgment; expected the header '" + QRELS_HEADER
          + "' then one judgment a line");
    }
    return qrels;
  }

  private static void forEachLine(Path file, LineHandler handler) throws IOException {
    long lineNo = 0;
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNo++;
        if (line.isBlank()) {
          throw malformed(file, lineNo, "blank line; expected one record a line");
        }
        handler.accept(line, lineNo);
      }
    } catch (CharacterCodingException e) {
      // BufferedReader decodes ahead, so the bad bytes may lie a few lines further on.
      throw malformed(file, lineNo + 1, "not valid UTF-8 on this line or shortly after (" + e + ")");
    }
  }

  private static JsonNode parseObject(Path file, String line, long lineNo) throws IOException {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw malformed(file, lineNo, "invalid JSON: " + e.getOriginalMessage());
    }
    if (!node.isObject()) {
      throw malformed(file, lineNo, "a JSON " + node.getNodeType() + "; expected an object");
    }
    return node;
  }

  private static String id(Path file, JsonNode object, long lineNo) throws IOException {
    String id = string(file, object, "_id", true, lineNo);
    if (id.isEmpty()) {
      throw malformed(file, lineNo, "field '_id' is empty; expected a non-empty string");
    }
    return id;
  }

  /** A string field; a missing or null optional one reads as {@code ""}. */
  private static String string(Path file, JsonNode object, String field, boolean required, long lineNo)
      throws IOException {
    JsonNode value = object.get(field);
    if (value == null || value.isNull()) {
      if (required) {
        throw malformed(file, lineNo, "field '" + field + "' is " + (value == null ? "missing" : "null")
            + "; expected a string");
      }
      return "";
    }
    if (!value.isTextual()) {
      throw malformed(file, lineNo, "field '" + field + "' is a " + value.getNodeType() + "; expected a string");
    }
    return value.textValue();
  }

  private static String nonEmpty(Path file, String value, String field, long lineNo) throws IOException {
    if (value.isEmpty()) {
      throw malformed(file, lineNo, "field '" + field + "' is empty; expected a non-empty id");
    }
    return value;
  }

  private static IOException malformed(Path file, long lineNo, String problem) {
    return new IOException(file + ":" + lineNo + ": " + problem);
  }
}
