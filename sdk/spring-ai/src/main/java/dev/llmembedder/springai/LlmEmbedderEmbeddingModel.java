package dev.llmembedder.springai;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.EncodingRole;
import dev.llmembedder.encoder.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.ai.document.Document;
import org.springframework.ai.embedding.Embedding;
import org.springframework.ai.embedding.EmbeddingModel;
import org.springframework.ai.embedding.EmbeddingOptions;
import org.springframework.ai.embedding.EmbeddingRequest;
import org.springframework.ai.embedding.EmbeddingResponse;
import org.springframework.ai.embedding.EmbeddingResponseMetadata;

/**
 * An {@link Encoder} as a Spring AI {@link EmbeddingModel}, with the instruction fixed when it is made: the query or
 * the key instruction of a {@link Task}, or an explicit one. Each embedding is {@code float[dimensions()]} and
 * L2-normalised, exactly what the encoder's own method returns for the same list of texts.
 *
 * <p>LLM-Embedder's instructions are asymmetric: what is stored and what is searched for are embedded differently.
 * A Spring AI {@code VectorStore} takes one model for both; with a task whose key and query instructions differ, embed
 * stored documents with {@link #forKeys} and search with {@link #forQueries} of the same encoder and task (for
 * bge-v1.5 the qa key instruction is empty, so {@code forKeys} matches a plain store's documents):
 *
 * <pre>{@code
 * Encoder encoder = Encoder.load(ModelPreset.BGE_SMALL_EN_V15);
 * EmbeddingModel passages = LlmEmbedderEmbeddingModel.forKeys(encoder, Task.QA);
 * EmbeddingModel questions = LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA);
 * float[] q = questions.embed("What causes tides?");
 * }</pre>
 *
 * <p><b>Options.</b> A request's {@link EmbeddingOptions#getDimensions()} must be null or the encoder's dimension;
 * its model name is ignored (the encoder has one model).
 *
 * <p><b>Thread-safety.</b> Thread-safe, as the encoder is. The encoder is shared, not owned: closing it is the
 * caller's business, and a closed encoder makes {@link #call} throw {@link IllegalStateException}.
 */
public final class LlmEmbedderEmbeddingModel implements EmbeddingModel {
  private final EncodingRole role;

  private LlmEmbedderEmbeddingModel(EncodingRole role) {
    this.role = role;
  }

  /**
   * Embeds texts as queries of {@code task}: {@link Encoder#encodeQueries(List, Task)}, with the model's query
   * instruction for the task and the encoder's query adapter, if it has one.
   *
   * @throws NullPointerException if an argument is null
   */
  public static LlmEmbedderEmbeddingModel forQueries(Encoder encoder, Task task) {
    return new LlmEmbedderEmbeddingModel(EncodingRole.queries(encoder, task));
  }

  /**
   * Embeds texts as keys (passages, chunks, demonstrations, tool descriptions) of {@code task}:
   * {@link Encoder#encodeKeys(List, Task)}, with the model's key instruction for the task.
   *
   * @throws NullPointerException if an argument is null
   */
  public static LlmEmbedderEmbeddingModel forKeys(Encoder encoder, Task task) {
    return new LlmEmbedderEmbeddingModel(EncodingRole.keys(encoder, task));
  }

  /**
   * Embeds texts each prefixed with {@code instruction}, truncated to the encoder's {@link Encoder#maxTokens()}:
   * {@link Encoder#encode(List, String, int)} (never through a query adapter).
   *
   * @param instruction prepended to every text; {@code ""} for none
   * @throws NullPointerException if an argument is null
   */
  public static LlmEmbedderEmbeddingModel withInstruction(Encoder encoder, String instruction) {
    return new LlmEmbedderEmbeddingModel(EncodingRole.instruction(encoder, instruction));
  }

  /**
   * Embeds the request's texts in one batched call.
   *
   * @return one {@link Embedding} per text, in input order (index = position), with the encoder's model name in the
   *     response metadata
   * @throws IllegalArgumentException if a text is null or only whitespace (its index named), or the options ask for
   *     another dimension
   * @throws IllegalStateException if the encoder is closed or the model run fails
   */
  @Override
  public EmbeddingResponse call(EmbeddingRequest request) {
    Objects.requireNonNull(request, "request");
    Encoder encoder = role.encoder();
    EmbeddingOptions options = request.getOptions();
    if (options != null && options.getDimensions() != null && options.getDimensions() != encoder.dimension()) {
      throw new IllegalArgumentException("dimensions is " + options.getDimensions() + "; allowed: null or "
          + encoder.dimension() + " (the dimension of " + encoder.modelName() + ")");
    }
    float[][] vectors = role.encode(request.getInstructions());
    List<Embedding> embeddings = new ArrayList<>(vectors.length);
    for (int i = 0; i < vectors.length; i++) {
      embeddings.add(new Embedding(vectors[i], i));
    }
    EmbeddingResponseMetadata metadata = new EmbeddingResponseMetadata();
    metadata.setModel(encoder.modelName());
    return new EmbeddingResponse(embeddings, metadata);
  }

  /**
   * Embeds a document's text ({@link Document#getText()}; its metadata is not embedded), as Spring AI's batched
   * {@code embed(List<Document>, ...)} does.
   *
   * @return {@code float[dimensions()]}, L2-normalised
   * @throws IllegalArgumentException if the document has no text (a media document) or only whitespace
   */
  @Override
  public float[] embed(Document document) {
    Objects.requireNonNull(document, "document");
    if (!document.isText()) {
      throw new IllegalArgumentException("document " + document.getId() + " holds media, not text; allowed: text");
    }
    return role.encode(List.of(document.getText()))[0];
  }

  /** The encoder's {@link Encoder#dimension()}; runs no model (Spring AI's default embeds a probe text). */
  @Override
  public int dimensions() {
    return role.encoder().dimension();
  }

  @Override
  public String toString() {
    return "LlmEmbedderEmbeddingModel[" + role.encoder().modelName() + ", " + role + "]";
  }
}
