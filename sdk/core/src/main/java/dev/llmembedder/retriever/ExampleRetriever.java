package dev.llmembedder.retriever;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.index.DocumentIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Example retrieval (LLM-Embedder's icl task): in-context demonstrations for a new task input. Demonstrations are
 * embedded as keys ({@link Demonstration#keyText()}) with the model's icl key instruction; the new input is the query,
 * with the icl query instruction.
 *
 * <p>Thread-safe: retrievals run concurrently with adds; a retrieval sees every add that returned before it.
 *
 * <p><b>Durability.</b> Changes are held in memory and seen by retrievals as soon as they return; they reach disk
 * only through {@link #save(Path)}, which writes the whole collection atomically (a crash leaves the previous save
 * readable), or, inside an {@link dev.llmembedder.LlmEmbedder}, through its {@code commit()}, whose contract applies.
 */
public final class ExampleRetriever {
  /** The default few-shot template: the instruction line is dropped when empty. */
  public static final String DEFAULT_TEMPLATE = "{instruction}\nInput: {input}\nOutput: {output}";

  /** A retrieved demonstration with its dot-product score. */
  public record ExampleHit(Demonstration demonstration, float score) {}

  private final Encoder encoder;
  private final DocumentIndex index;

  /**
   * @param encoder encodes demonstrations and inputs; not closed by this retriever
   * @param index holds the demonstrations; its dimension must be the encoder's
   */
  public ExampleRetriever(Encoder encoder, DocumentIndex index) {
    this.encoder = Objects.requireNonNull(encoder, "encoder");
    this.index = Objects.requireNonNull(index, "index");
    RetrieverChecks.sameDimension(encoder, index);
  }

  /** Adds or replaces (by id) demonstrations, encoded in one batched call. */
  public void addAll(List<Demonstration> demonstrations) {
    float[][] keys = encoder.encodeKeys(demonstrations.stream().map(Demonstration::keyText).toList(), Task.ICL);
    List<Document> docs = new ArrayList<>(demonstrations.size());
    for (Demonstration d : demonstrations) {
      docs.add(new Document(d.id(), d.task(), d.keyText(),
          Map.of("instruction", d.instruction(), "input", d.input(), "output", d.output())));
    }
    index.addAll(docs, keys);
  }

  /** The top {@code k} demonstrations for {@code input}, best first, from every task. */
  public List<ExampleHit> retrieve(String input, int k) {
    return retrieve(input, k, null);
  }

  /**
   * The top {@code k} demonstrations for {@code input}, best first.
   *
   * @param task only demonstrations of this task, or null for all
   * @throws IllegalArgumentException if {@code input} is null or only whitespace, or {@code k < 1}
   */
  public List<ExampleHit> retrieve(String input, int k, String task) {
    RetrieverChecks.topK(k);
    return search(encoder.encodeQuery(input, Task.ICL), k, task);
  }

  /**
   * The top {@code k} demonstrations for an already encoded input, best first.
   *
   * @param queryEmbedding {@code float[dimension]}, encoded by {@link #encoder()} with its icl query instruction
   * @param task only demonstrations of this task, or null for all
   * @throws IllegalArgumentException if {@code k < 1} or the embedding has the wrong dimension
   */
  public List<ExampleHit> search(float[] queryEmbedding, int k, String task) {
    RetrieverChecks.topK(k);
    float[] query = Objects.requireNonNull(queryEmbedding, "queryEmbedding");
    List<DocumentHit> hits = task == null
        ? index.search(query, k)
        : index.search(query, k, d -> d.title().equals(task));
    return hits.stream().map(h -> new ExampleHit(toDemonstration(h.document()), h.score())).toList();
  }

  /**
   * Writes the demonstrations and their embeddings to {@code directory} atomically (see {@link DocumentIndex#save}).
   *
   * @throws IOException if writing fails; the previously saved version stays readable
   */
  public void save(Path directory) throws IOException {
    index.save(directory);
  }

  /** The encoder this retriever embeds demonstrations and inputs with. */
  public Encoder encoder() {
    return encoder;
  }

  /** The number of demonstrations. */
  public int size() {
    return index.size();
  }

  /**
   * Renders hits as few-shot examples, best first, each through {@code template} (see
   * {@link Demonstration#render(String)}; leading blank lines of an example are dropped), separated by blank lines.
   */
  public static String render(List<ExampleHit> hits, String template) {
    StringBuilder out = new StringBuilder();
    for (ExampleHit hit : hits) {
      if (!out.isEmpty()) {
        out.append("\n\n");
      }
      out.append(hit.demonstration().render(template).stripLeading());
    }
    return out.toString();
  }

  /**
   * Reads demonstrations from JSON lines: {@code {"id", "task", "instruction", "input", "output"}} per line; {@code id}
   * defaults to the line number, {@code task} and {@code instruction} to empty. Blank lines are skipped.
   *
   * @throws IOException naming the file, line and field of a malformed line
   */
  public static List<Demonstration> readJsonl(Path file) throws IOException {
    List<Demonstration> out = new ArrayList<>();
    JsonLines.forEach(file, (where, lineNo, row) -> {
      for (String field : List.of("input", "output")) {
        if (!row.path(field).isTextual()) {
          throw new IOException(where + ": field '" + field + "' is missing or not a string");
        }
      }
      String id = row.path("id").asText(Integer.toString(lineNo));
      if (id.isBlank()) {
        // was the IllegalArgumentException of the Demonstration constructor (found by fuzzing)
        throw new IOException(where + ": field 'id' is blank (" + row.get("id") + "); leave it out to use the line"
            + " number");
      }
      out.add(new Demonstration(id, row.path("task").asText(""),
          row.path("instruction").asText(""), row.get("input").asText(), row.get("output").asText()));
    });
    return out;
  }

  private static Demonstration toDemonstration(Document d) {
    return new Demonstration(d.id(), d.title(), d.metadata().get("instruction"), d.metadata().get("input"),
        d.metadata().get("output"));
  }
}
