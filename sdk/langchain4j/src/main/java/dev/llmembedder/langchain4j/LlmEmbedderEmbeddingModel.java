package dev.llmembedder.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.EncodingRole;
import dev.llmembedder.encoder.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An {@link Encoder} as a LangChain4j {@link EmbeddingModel}, with the instruction fixed when it is made: the query
 * or the key instruction of a {@link Task}, or an explicit one. Each embedding is {@code float[dimension()]} and
 * L2-normalised, exactly what the encoder's own method returns for the same list of texts.
 *
 * <p>LLM-Embedder's instructions are asymmetric: what is stored and what is searched for are embedded differently.
 * Where LangChain4j takes one model for both (an {@code EmbeddingStoreIngestor} and an
 * {@code EmbeddingStoreContentRetriever} over the same store), give the ingestor {@link #forKeys} and the retriever
 * {@link #forQueries} of the same encoder and task:
 *
 * <pre>{@code
 * Encoder encoder = Encoder.load(ModelPreset.BGE_SMALL_EN_V15);
 * EmbeddingModel keys = LlmEmbedderEmbeddingModel.forKeys(encoder, Task.QA);
 * EmbeddingModel queries = LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA);
 * store.addAll(keys.embedAll(segments).content(), segments);
 * ContentRetriever retriever = EmbeddingStoreContentRetriever.builder()
 *     .embeddingStore(store).embeddingModel(queries).maxResults(3).build();
 * }</pre>
 *
 * <p><b>Thread-safety.</b> Thread-safe, as the encoder is. The encoder is shared, not owned: closing it is the
 * caller's business, and a closed encoder makes {@link #embedAll} throw {@link IllegalStateException}.
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
   * Embeds the segments' texts in one batched call (their metadata is not embedded).
   *
   * @return one embedding per segment, in input order; no token usage
   * @throws IllegalArgumentException if a segment's text is only whitespace (its index named)
   * @throws IllegalStateException if the encoder is closed or the model run fails
   */
  @Override
  public Response<List<Embedding>> embedAll(List<TextSegment> textSegments) {
    List<String> texts = new ArrayList<>(textSegments.size());
    for (TextSegment segment : textSegments) {
      texts.add(Objects.requireNonNull(segment, "textSegments holds null").text());
    }
    float[][] vectors = role.encode(texts);
    List<Embedding> embeddings = new ArrayList<>(vectors.length);
    for (float[] v : vectors) {
      embeddings.add(Embedding.from(v));
    }
    return Response.from(embeddings);
  }

  /** The encoder's {@link Encoder#dimension()}; runs no model. */
  @Override
  public int dimension() {
    return role.encoder().dimension();
  }

  /** The encoder's {@link Encoder#modelName()}, e.g. {@code bge-small-en-v1.5-int8}. */
  @Override
  public String modelName() {
    return role.encoder().modelName();
  }

  @Override
  public String toString() {
    return "LlmEmbedderEmbeddingModel[" + role.encoder().modelName() + ", " + role + "]";
  }
}
