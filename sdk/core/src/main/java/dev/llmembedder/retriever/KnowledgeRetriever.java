package dev.llmembedder.retriever;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.index.DocumentIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Knowledge retrieval (LLM-Embedder's QA task): passages for a question. Passages are encoded as keys with the
 * model's {@link Task#QA} key instruction, questions as queries with its query instruction; the passage text embedded
 * is {@code title + " " + text} (text alone when the title is empty), as BEIR and MTEB do.
 *
 * <p>Thread-safe: any number of threads may retrieve while others add or delete. A retrieval sees every add and delete
 * that returned before it started.
 *
 * <p><b>Durability.</b> Changes are held in memory and seen by retrievals as soon as they return; they reach disk
 * only through {@link #save(Path)}, which writes the whole collection atomically (a crash leaves the previous save
 * readable), or, inside an {@link dev.llmembedder.LlmEmbedder}, through its {@code commit()}, whose contract applies.
 */
public final class KnowledgeRetriever {
  private final Encoder encoder;
  private final DocumentIndex index;

  /**
   * @param encoder encodes passages and questions; not closed by this retriever
   * @param index holds the passages; its dimension must be the encoder's
   * @throws IllegalArgumentException if the dimensions differ
   */
  public KnowledgeRetriever(Encoder encoder, DocumentIndex index) {
    this.encoder = Objects.requireNonNull(encoder, "encoder");
    this.index = Objects.requireNonNull(index, "index");
    RetrieverChecks.sameDimension(encoder, index);
  }

  /** Adds or replaces one passage (by id). */
  public void add(Document passage) {
    addAll(List.of(passage));
  }

  /**
   * Adds or replaces passages (by id), encoding them in one batched call. For large corpora call it with chunks of a
   * few hundred passages to report progress between calls.
   *
   * @throws IllegalArgumentException if a passage's title and text are empty or only whitespace or invisible characters
   *     (the passage named; nothing is added), or ids repeat within the call
   */
  public void addAll(List<Document> passages) {
    Objects.requireNonNull(passages, "passages");
    for (int i = 0; i < passages.size(); i++) {
      Document passage = Objects.requireNonNull(passages.get(i), "passages[" + i + "]");
      String key = keyText(passage);
      if (!RetrieverChecks.hasText(key)) {
        throw new IllegalArgumentException("passages[" + i + "] (id " + passage.id() + ") has no text to embed: its"
            + " title and text are " + RetrieverChecks.describeEmpty(key));
      }
    }
    float[][] embeddings = encoder.encodeKeys(passages.stream().map(KnowledgeRetriever::keyText).toList(), Task.QA);
    index.addAll(passages, embeddings);
  }

  /** Deletes a passage; returns whether it was there. */
  public boolean delete(String id) {
    return index.delete(id);
  }

  /**
   * The {@code k} passages most similar to {@code question}, best first.
   *
   * @param k at least 1; fewer hits come back when the collection holds fewer passages
   * @return hits with their dot-product scores, best first
   * @throws IllegalArgumentException if {@code question} is null or only whitespace, or {@code k < 1}
   */
  public List<DocumentHit> retrieve(String question, int k) {
    RetrieverChecks.topK(k);
    return index.search(encoder.encodeQuery(question, Task.QA), k);
  }

  /**
   * Retrieves for many questions at once, encoding them in batches: faster than calling {@link #retrieve} in a loop.
   *
   * @return for each question, in input order, its top {@code k} hits, best first
   * @throws IllegalArgumentException if a question is null or only whitespace (its index named), or {@code k < 1}
   */
  public List<List<DocumentHit>> retrieveAll(List<String> questions, int k) {
    RetrieverChecks.topK(k);
    float[][] queries = encoder.encodeQueries(questions, Task.QA);
    List<List<DocumentHit>> out = new java.util.ArrayList<>(queries.length);
    for (float[] query : queries) {
      out.add(index.search(query, k));
    }
    return out;
  }

  /**
   * The {@code k} passages most similar to an already encoded query, best first.
   *
   * @param queryEmbedding {@code float[dimension]}, from this retriever's {@link #encoder()}
   * @throws IllegalArgumentException if the dimension is wrong or {@code k < 1}
   */
  public List<DocumentHit> search(float[] queryEmbedding, int k) {
    RetrieverChecks.topK(k);
    return index.search(queryEmbedding, k);
  }

  /** The encoder this retriever embeds passages and questions with. */
  public Encoder encoder() {
    return encoder;
  }

  /** The number of passages. */
  public int size() {
    return index.size();
  }

  /** The passage with this id, or null. */
  public Document get(String id) {
    return index.get(id);
  }

  /**
   * Writes the passages and their embeddings to {@code directory} atomically (see {@link DocumentIndex#save}).
   *
   * @throws IOException if writing fails; the previously saved version stays readable
   */
  public void save(Path directory) throws IOException {
    index.save(directory);
  }

  /** The text that is embedded for a passage: {@code title + " " + text}, or the text alone when there is no title. */
  public static String keyText(Document passage) {
    return passage.title().isEmpty() ? passage.text() : passage.title() + " " + passage.text();
  }
}
