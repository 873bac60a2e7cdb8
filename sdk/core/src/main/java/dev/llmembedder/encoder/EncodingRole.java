package dev.llmembedder.encoder;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * How texts are embedded for one use: as queries of a {@link Task} ({@link Encoder#encodeQueries}), as keys of a task
 * ({@link Encoder#encodeKeys}), or with an explicit instruction ({@link Encoder#encode}). Frameworks that know a
 * single "embed these texts" call (LangChain4j's and Spring AI's {@code EmbeddingModel}) take one role each, since
 * LLM-Embedder embeds stored texts and questions with different instructions.
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe, as the encoder is. The encoder is shared, not owned: closing it
 * is the caller's business, and a closed encoder makes {@link #encode} throw {@link IllegalStateException}.
 */
public final class EncodingRole {
  private final Encoder encoder;
  private final String description;
  private final Function<List<String>, float[][]> encode;

  private EncodingRole(Encoder encoder, String description, Function<List<String>, float[][]> encode) {
    this.encoder = encoder;
    this.description = description;
    this.encode = encode;
  }

  /**
   * Texts as queries of {@code task}: {@link Encoder#encodeQueries(List, Task)}, with the model's query instruction
   * for the task and the encoder's query adapter, if it has one.
   *
   * @throws NullPointerException if an argument is null
   */
  public static EncodingRole queries(Encoder encoder, Task task) {
    Objects.requireNonNull(encoder, "encoder");
    Objects.requireNonNull(task, "task");
    return new EncodingRole(encoder, "queries of " + task.id(), texts -> encoder.encodeQueries(texts, task));
  }

  /**
   * Texts as keys (passages, chunks, demonstrations, tool descriptions) of {@code task}:
   * {@link Encoder#encodeKeys(List, Task)}, with the model's key instruction for the task.
   *
   * @throws NullPointerException if an argument is null
   */
  public static EncodingRole keys(Encoder encoder, Task task) {
    Objects.requireNonNull(encoder, "encoder");
    Objects.requireNonNull(task, "task");
    return new EncodingRole(encoder, "keys of " + task.id(), texts -> encoder.encodeKeys(texts, task));
  }

  /**
   * Texts each prefixed with {@code instruction} (inside the model's query {@link TextTemplate}, if it has one),
   * truncated to the encoder's {@link Encoder#maxTokens()}: {@link Encoder#encode(List, String, int)} (never through a
   * query adapter).
   *
   * @param instruction prepended to every text; {@code ""} for none
   * @throws NullPointerException if an argument is null
   */
  public static EncodingRole instruction(Encoder encoder, String instruction) {
    Objects.requireNonNull(encoder, "encoder");
    Objects.requireNonNull(instruction, "instruction is null; use \"\" for none");
    return new EncodingRole(encoder, "instruction '" + instruction + "'",
        texts -> encoder.encode(texts, instruction, encoder.maxTokens()));
  }

  /**
   * Embeds {@code texts} in this role.
   *
   * @return {@code float[texts.size()][dimension]}, L2-normalised, in input order
   * @throws IllegalArgumentException if a text is null or only whitespace (its index named)
   * @throws IllegalStateException if the encoder is closed or the model run fails
   */
  public float[][] encode(List<String> texts) {
    return encode.apply(texts);
  }

  /** The encoder this role uses. */
  public Encoder encoder() {
    return encoder;
  }

  /** E.g. {@code queries of qa}, {@code keys of tool}, {@code instruction 'query: '}. */
  @Override
  public String toString() {
    return description;
  }
}
