package dev.llmembedder.index;

import java.util.Objects;

/**
 * One result of {@link DocumentIndex#search(float[], int)}. Immutable and therefore thread-safe.
 *
 * @param document the matching document; never null
 * @param score    the exact dot product of the query and the document's embedding (for L2-normalised
 *                 embeddings, the cosine similarity in [-1, 1]); higher is more similar
 */
public record DocumentHit(Document document, float score) {

  /**
   * Creates a hit.
   *
   * @throws NullPointerException if {@code document} is null
   */
  public DocumentHit {
    Objects.requireNonNull(document, "document must not be null");
  }
}
