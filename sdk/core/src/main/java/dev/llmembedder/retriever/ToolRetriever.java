package dev.llmembedder.retriever;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Tool retrieval (LLM-Embedder's tool task): finds the tools that can serve a user's request by their description
 * and hands back each tool's full API, ready for the LLM's tool list. Tools are embedded as keys with the model's
 * {@link Task#TOOL} key instruction; the request is the query, with its tool query instruction.
 *
 * <p><b>Key.</b> What is embedded for a tool is its description document ({@link #keyText(Tool, Set)}), built from
 * the {@link KeyField}s this retriever was made with: by default name, description and parameter names with their
 * descriptions, as in the ToolBench documents LLM-Embedder was trained on. The full API ({@link KeyField#API}) can be
 * added; the bare description alone is {@code EnumSet.of(KeyField.DESCRIPTION)}.
 *
 * <p><b>Ids.</b> A tool's id is unique: {@link #addAll} replaces a tool already stored under the same id, and rejects
 * a call that repeats an id; the file readers reject a file that repeats one, naming both lines.
 *
 * <p>Thread-safe: retrievals run concurrently with adds and deletes; a retrieval sees every change that returned
 * before it started.
 *
 * <p><b>Durability.</b> Changes are held in memory and seen by retrievals as soon as they return; they reach disk
 * only through {@link #save(Path)}, which writes the whole collection atomically (a crash leaves the previous save
 * readable), or, inside an {@link dev.llmembedder.LlmEmbedder}, through its {@code commit()}, whose contract applies.
 */
public final class ToolRetriever {
  /** The parts of a tool that can go into its embedded key. */
  public enum KeyField {
    /** {@link Tool#name()}. */
    NAME,
    /** {@link Tool#description()}. */
    DESCRIPTION,
    /** {@link Tool#parameters()}: {@code parameters: name (description), ...}. */
    PARAMETERS,
    /** {@link Tool#api()}: the whole API definition as JSON text. */
    API
  }

  /** Name, description and parameters: the default key (ToolBench's documents, without the API's JSON). */
  public static final Set<KeyField> DEFAULT_KEY =
      Collections.unmodifiableSet(EnumSet.of(KeyField.NAME, KeyField.DESCRIPTION, KeyField.PARAMETERS));

  /** A retrieved tool with its dot-product score. */
  public record ToolHit(Tool tool, float score) {}

  private static final String API = "api";
  private static final String PARAMETERS = "parameters";

  private final Encoder encoder;
  private final DocumentIndex index;
  private final Set<KeyField> keyFields;

  /** A retriever with the {@link #DEFAULT_KEY}. */
  public ToolRetriever(Encoder encoder, DocumentIndex index) {
    this(encoder, index, DEFAULT_KEY);
  }

  /**
   * @param encoder encodes tool documents and requests; not closed by this retriever
   * @param index holds the tools; its dimension must be the encoder's
   * @param keyFields what goes into each tool's embedded key; at least one
   * @throws IllegalArgumentException if the dimensions differ or {@code keyFields} is empty
   */
  public ToolRetriever(Encoder encoder, DocumentIndex index, Set<KeyField> keyFields) {
    this.encoder = Objects.requireNonNull(encoder, "encoder");
    this.index = Objects.requireNonNull(index, "index");
    RetrieverChecks.sameDimension(encoder, index);
    if (Objects.requireNonNull(keyFields, "keyFields").isEmpty()) {
      throw new IllegalArgumentException("keyFields is empty; name at least one of " + EnumSet.allOf(KeyField.class));
    }
    this.keyFields = Collections.unmodifiableSet(EnumSet.copyOf(keyFields));
  }

  /** Adds or replaces one tool (by id). */
  public void add(Tool tool) {
    addAll(List.of(tool));
  }

  /**
   * Adds or replaces tools (by id), encoding their keys in one batched call.
   *
   * @throws IllegalArgumentException if ids repeat within the call, or a tool's key is empty (the tool named)
   */
  public void addAll(List<Tool> tools) {
    Objects.requireNonNull(tools, "tools");
    List<String> keys = new ArrayList<>(tools.size());
    List<Document> docs = new ArrayList<>(tools.size());
    for (Tool tool : tools) {
      String key = keyText(tool, keyFields);
      if (!RetrieverChecks.hasText(key)) {
        throw new IllegalArgumentException("tool " + tool.id() + " has an empty key: its " + keyFields
            + " are all empty");
      }
      keys.add(key);
      docs.add(new Document(tool.id(), tool.name(), tool.description(),
          Map.of(API, tool.api(), PARAMETERS, ToolFiles.parametersJson(tool.parameters()))));
    }
    index.addAll(docs, encoder.encodeKeys(keys, Task.TOOL));
  }

  /** Deletes a tool; returns whether it was there. */
  public boolean delete(String id) {
    return index.delete(id);
  }

  /**
   * The {@code k} tools that best serve {@code request}, best first.
   *
   * @param k at least 1; fewer hits come back when fewer tools are stored
   * @throws IllegalArgumentException if {@code request} is null or only whitespace, or {@code k < 1}
   */
  public List<ToolHit> retrieve(String request, int k) {
    RetrieverChecks.topK(k);
    return search(encoder.encodeQuery(request, Task.TOOL), k);
  }

  /**
   * The {@code k} tools nearest an already encoded request, best first.
   *
   * @param queryEmbedding {@code float[dimension]}, encoded by {@link #encoder()} with its tool query instruction
   * @throws IllegalArgumentException if the dimension is wrong or {@code k < 1}
   */
  public List<ToolHit> search(float[] queryEmbedding, int k) {
    RetrieverChecks.topK(k);
    return index.search(queryEmbedding, k).stream().map(h -> new ToolHit(toTool(h.document()), h.score())).toList();
  }

  /** The tool with this id, or null. */
  public Tool get(String id) {
    Document d = index.get(id);
    return d == null ? null : toTool(d);
  }

  /** The number of tools. */
  public int size() {
    return index.size();
  }

  /** What goes into each tool's embedded key. */
  public Set<KeyField> keyFields() {
    return keyFields;
  }

  /** The encoder this retriever embeds tools and requests with. */
  public Encoder encoder() {
    return encoder;
  }

  /**
   * Writes the tools and their embeddings to {@code directory} atomically (see {@link DocumentIndex#save}).
   *
   * @throws IOException if writing fails; the previously saved version stays readable
   */
  public void save(Path directory) throws IOException {
    index.save(directory);
  }

  /**
   * The description document embedded for {@code tool}: the chosen fields in the order name, description,
   * parameters ({@code parameters: a (what a means), b}), API, separated by {@code ", "} as ToolBench's documents are;
   * empty fields are left out.
   */
  public static String keyText(Tool tool, Set<KeyField> fields) {
    List<String> parts = new ArrayList<>(4);
    if (fields.contains(KeyField.NAME) && !tool.name().isBlank()) {
      parts.add(tool.name());
    }
    if (fields.contains(KeyField.DESCRIPTION) && !tool.description().isBlank()) {
      parts.add(tool.description());
    }
    if (fields.contains(KeyField.PARAMETERS) && !tool.parameters().isEmpty()) {
      parts.add(tool.parameters().stream()
          .map(p -> p.description().isEmpty() ? p.name() : p.name() + " (" + p.description() + ")")
          .collect(Collectors.joining(", ", "parameters: ", "")));
    }
    if (fields.contains(KeyField.API) && !tool.api().equals("{}")) {
      parts.add("api: " + tool.api());
    }
    return String.join(", ", parts);
  }

  /**
   * Reads tools in OpenAI's function-calling format: a JSON array of tools, or one tool object. Each tool is either
   * {@code {"type": "function", "function": {"name", "description", "parameters"}}} or the bare
   * {@code {"name", "description", "parameters"}} object; {@code parameters} is a JSON schema whose
   * {@code properties} give the parameter names and descriptions. The id is the name; {@link Tool#api()} is the
   * element as written (compact JSON).
   *
   * @throws IOException naming the file, line and field of a malformed tool, or both lines of a repeated name
   */
  public static List<Tool> readOpenAiTools(Path file) throws IOException {
    return ToolFiles.readOpenAiTools(file);
  }

  /**
   * Reads tools from JSON lines: {@code {"id", "name", "description", "api"}} per line. {@code name} and
   * {@code description} are required strings; {@code id} defaults to the name; {@code api} is a JSON object, or a
   * string holding one, from which the parameters are read as in {@link Tool#of}. Blank lines are skipped.
   *
   * @throws IOException naming the file, line and field of a malformed line, or both lines of a repeated id
   */
  public static List<Tool> readJsonl(Path file) throws IOException {
    return ToolFiles.readJsonl(file);
  }

  private static Tool toTool(Document d) {
    return new Tool(d.id(), d.title(), d.text(), ToolFiles.parametersFromJson(d.metadata().get(PARAMETERS)),
        d.metadata().get(API));
  }
}
