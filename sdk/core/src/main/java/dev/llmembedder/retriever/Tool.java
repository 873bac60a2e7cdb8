package dev.llmembedder.retriever;

import java.util.List;
import java.util.Objects;

/**
 * A tool an LLM can call: what a {@link ToolRetriever} finds by description and hands back as an API.
 *
 * <p>Immutable and thread-safe. Build one with {@link #of(String, String, String, String)} to have the parameters
 * read from the API, or read many with {@link ToolRetriever#readOpenAiTools} and {@link ToolRetriever#readJsonl}.
 *
 * @param id unique within a {@link ToolRetriever}; not blank (the tool's name for OpenAI function definitions)
 * @param name the tool's name, e.g. {@code "get_weather"}; not null (may be empty)
 * @param description what the tool does, in natural language; not null (may be empty)
 * @param parameters the tool's parameters with their descriptions, in declaration order; null becomes empty
 * @param api the tool's full API definition as JSON text, handed to the LLM as it is (for example an OpenAI
 *     {@code {"type": "function", "function": {...}}} object); {@code "{}"} when there is none
 */
public record Tool(String id, String name, String description, List<Parameter> parameters, String api) {
  /**
   * One parameter of a tool.
   *
   * @param name the parameter's name; not blank
   * @param description what it means; {@code ""} when the API does not say
   */
  public record Parameter(String name, String description) {
    /** @throws IllegalArgumentException if the name is null or blank */
    public Parameter {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("parameter name is " + (name == null ? "null" : "blank") + "; required");
      }
      description = Objects.requireNonNullElse(description, "");
    }
  }

  /** @throws IllegalArgumentException naming the field that is null or blank when it must not be */
  public Tool {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("tool id is " + (id == null ? "null" : "blank") + "; required");
    }
    if (name == null || description == null) {
      throw new IllegalArgumentException("tool " + id + " has a null " + (name == null ? "name" : "description"));
    }
    parameters = parameters == null ? List.of() : List.copyOf(parameters);
    api = api == null || api.isBlank() ? "{}" : api;
  }

  /**
   * A tool whose parameters are read from its API definition: the JSON-schema {@code parameters.properties} of an
   * OpenAI function (also inside {@code "function"}), ToolBench's {@code required_parameters} and
   * {@code optional_parameters} lists, or Gorilla's {@code api_arguments}; none when the API has none of these.
   *
   * @param apiJson the full API definition as JSON text (object); null or blank for none
   * @throws IllegalArgumentException if {@code apiJson} is not a JSON object, or a field is missing as in the
   *     canonical constructor
   */
  public static Tool of(String id, String name, String description, String apiJson) {
    if (apiJson == null || apiJson.isBlank()) {
      return new Tool(id, name, description, List.of(), "{}");
    }
    return ToolFiles.fromApi(id, name, description, ToolFiles.parseApi(id, apiJson));
  }
}
