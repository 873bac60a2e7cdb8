package dev.llmembedder.retriever;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Reading tools from files and API definitions; see {@link ToolRetriever#readOpenAiTools} and friends. */
final class ToolFiles {
  private static final ObjectMapper JSON = JsonLines.JSON;

  private ToolFiles() {}

  /** See {@link ToolRetriever#readOpenAiTools(Path)}. */
  static List<Tool> readOpenAiTools(Path file) throws IOException {
    List<Tool> tools = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    try (InputStream in = Files.newInputStream(file); JsonParser p = createParser(file, in)) {
      JsonToken first = next(file, p);
      if (first == JsonToken.START_OBJECT) {
        int line = p.currentTokenLocation().getLineNr();
        tools.add(openAiTool(file, line, 1, read(file, p), seen));
      } else if (first == JsonToken.START_ARRAY) {
        int n = 0;
        for (JsonToken t = next(file, p); t != JsonToken.END_ARRAY; t = next(file, p)) {
          int line = p.currentTokenLocation().getLineNr();
          n++;
          if (t != JsonToken.START_OBJECT) {
            throw new IOException(file + ":" + line + ": tool " + n + " is " + t.asString()
                + ", not a JSON object");
          }
          tools.add(openAiTool(file, line, n, read(file, p), seen));
        }
      } else {
        throw new IOException(file + ":1: expected a JSON array of tools or one tool object, found "
            + (first == null ? "an empty file" : first.toString()));
      }
      if (next(file, p) != null) {
        throw new IOException(file + ":" + p.currentTokenLocation().getLineNr()
            + ": unexpected content after the tools");
      }
    }
    return tools;
  }

  private static Tool openAiTool(Path file, int line, int n, JsonNode element, Map<String, Integer> seen)
      throws IOException {
    String where = file + ":" + line + ": tool " + n;
    JsonNode fn = element.has("function") ? element.get("function") : element;
    if (!fn.isObject()) {
      throw new IOException(where + ": field 'function' is not an object");
    }
    String name = requiredString(where, fn, "name");
    if (name.isBlank()) {
      throw new IOException(where + ": field 'name' is blank; a tool needs a name (its id)");
    }
    String description = optionalString(where, fn, "description");
    duplicate(where, name, line, seen);
    return new Tool(name, name, description, parameters(fn), JSON.writeValueAsString(element));
  }

  /** See {@link ToolRetriever#readJsonl(Path)}. */
  static List<Tool> readJsonl(Path file) throws IOException {
    List<Tool> tools = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    JsonLines.forEach(file, (where, lineNo, row) -> {
      String name = requiredString(where, row, "name");
      String description = requiredString(where, row, "description");
      String id = row.has("id") ? requiredString(where, row, "id") : name;
      if (id.isBlank()) {
        throw new IOException(where + ": field '" + (row.has("id") ? "id" : "name") + "' is blank; a tool needs an id");
      }
      JsonNode api = row.path("api");
      if (api.isTextual()) {
        try {
          api = JSON.readTree(api.asText());
        } catch (JsonProcessingException e) {
          throw new IOException(where + ": field 'api' is a string but not JSON: " + e.getOriginalMessage(), e);
        }
      }
      if (!api.isMissingNode() && !api.isNull() && !api.isObject()) {
        throw new IOException(where + ": field 'api' is " + api.getNodeType() + "; expected a JSON object or a"
            + " string holding one");
      }
      duplicate(where, id, lineNo, seen);
      tools.add(api.isObject() ? fromApi(id, name, description, api) : new Tool(id, name, description, null, null));
    });
    return tools;
  }

  static JsonNode parseApi(String id, String apiJson) {
    try {
      JsonNode api = JSON.readTree(apiJson);
      if (api == null || !api.isObject()) {
        throw new IllegalArgumentException("api of tool " + id + " is not a JSON object: " + abbreviate(apiJson));
      }
      return api;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("api of tool " + id + " is not valid JSON (" + e.getOriginalMessage()
          + "): " + abbreviate(apiJson), e);
    }
  }

  static Tool fromApi(String id, String name, String description, JsonNode api) {
    JsonNode fn = api.path("function").isObject() ? api.get("function") : api;
    try {
      return new Tool(id, name, description, parameters(fn), JSON.writeValueAsString(api));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write back a parsed JSON tree", e);
    }
  }

  /** Parameters from JSON schema, ToolBench's lists or Gorilla's {@code api_arguments}, in that preference. */
  static List<Tool.Parameter> parameters(JsonNode api) {
    List<Tool.Parameter> out = new ArrayList<>();
    JsonNode properties = api.path("parameters").path("properties");
    if (properties.isObject()) {
      properties.properties().forEach(e -> {
        if (!e.getKey().isBlank()) { // as in the lists below: a blank name names no parameter (was an IAE)
          out.add(new Tool.Parameter(e.getKey(), text(e.getValue().path("description"))));
        }
      });
      return out;
    }
    for (String list : List.of("required_parameters", "optional_parameters", "required_params", "optional_params")) {
      for (JsonNode p : api.path(list)) {
        if (p.path("name").isTextual() && !p.path("name").asText().isBlank()) {
          out.add(new Tool.Parameter(p.get("name").asText(), text(p.path("description"))));
        }
      }
    }
    if (!out.isEmpty()) {
      return out;
    }
    JsonNode arguments = api.path("api_arguments");
    if (arguments.isObject()) {
      arguments.properties().forEach(e -> {
        if (!e.getKey().isBlank()) {
          out.add(new Tool.Parameter(e.getKey(), text(e.getValue())));
        }
      });
    } else if (arguments.isArray()) {
      for (JsonNode a : arguments) {
        JsonNode name = a.isObject() ? a.path("name") : a;
        if (name.isTextual() && !name.asText().isBlank()) {
          out.add(new Tool.Parameter(name.asText(), text(a.path("description"))));
        }
      }
    }
    return out;
  }

  /** Parameters as a JSON array of {@code [name, description]} pairs, for storing next to a tool. */
  static String parametersJson(List<Tool.Parameter> parameters) {
    ArrayNode array = JSON.createArrayNode();
    for (Tool.Parameter p : parameters) {
      array.addArray().add(p.name()).add(p.description());
    }
    return array.toString();
  }

  static List<Tool.Parameter> parametersFromJson(String json) {
    List<Tool.Parameter> out = new ArrayList<>();
    try {
      for (JsonNode pair : JSON.readTree(json)) {
        out.add(new Tool.Parameter(pair.get(0).asText(), pair.get(1).asText()));
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored tool parameters are not JSON: " + abbreviate(json), e);
    }
    return out;
  }

  private static String text(JsonNode node) {
    return node.isTextual() ? node.asText().strip() : "";
  }

  private static String requiredString(String where, JsonNode object, String field) throws IOException {
    JsonNode value = object.get(field);
    if (value == null || !value.isTextual()) {
      throw new IOException(where + ": field '" + field + "' is " + (value == null ? "missing" : value.getNodeType())
          + "; expected a string");
    }
    return value.asText();
  }

  private static String optionalString(String where, JsonNode object, String field) throws IOException {
    return object.has(field) && !object.get(field).isNull() ? requiredString(where, object, field) : "";
  }

  private static void duplicate(String where, String id, int line, Map<String, Integer> seen) throws IOException {
    Integer first = seen.putIfAbsent(id, line);
    if (first != null) {
      throw new IOException(where + ": duplicate tool id '" + id + "', first defined on line " + first);
    }
  }

  private static JsonToken next(Path file, JsonParser p) throws IOException {
    try {
      return p.nextToken();
    } catch (JsonProcessingException e) {
      throw notJson(file, e);
    } catch (CharConversionException e) {
      throw notText(file, e);
    }
  }

  /** Jackson guesses the encoding from the first bytes when it creates the parser, and can fail right there. */
  private static JsonParser createParser(Path file, InputStream in) throws IOException {
    try {
      return JSON.createParser(in);
    } catch (CharConversionException e) { // e.g. "Unsupported UCS-4 endianness (3412)" (found by fuzzing)
      throw notText(file, e);
    }
  }

  private static JsonNode read(Path file, JsonParser p) throws IOException {
    try {
      return p.readValueAsTree();
    } catch (JsonProcessingException e) {
      throw notJson(file, e);
    } catch (CharConversionException e) {
      throw notText(file, e);
    }
  }

  /** Jackson guesses the encoding from the first bytes (UTF-16/32 too) and reports bad ones without the file. */
  private static IOException notText(Path file, CharConversionException e) {
    return new IOException(file + ": not valid JSON text: " + e.getMessage(), e);
  }

  private static IOException notJson(Path file, JsonProcessingException e) {
    JsonLocation at = e.getLocation();
    return new IOException(file + ":" + (at == null ? "?" : at.getLineNr() + ":" + at.getColumnNr())
        + ": not valid JSON: " + e.getOriginalMessage(), e);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
