package dev.llmembedder.encoder;

import java.util.Objects;

/**
 * A pair of prefixes prepended to texts before encoding: one for queries, one for keys (passages, chunks,
 * demonstrations, tool descriptions). Either may be empty.
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe.
 *
 * @param query prepended to every query, e.g. {@code "Represent this query for retrieving relevant documents: "}
 * @param key prepended to every key, e.g. {@code "Represent this document for retrieval: "}
 */
public record Instruction(String query, String key) {
  /** No prefix on either side. */
  public static final Instruction NONE = new Instruction("", "");

  /** @throws NullPointerException if either prefix is null (use {@code ""} for none) */
  public Instruction {
    Objects.requireNonNull(query, "query instruction is null; use \"\" for none");
    Objects.requireNonNull(key, "key instruction is null; use \"\" for none");
  }
}
