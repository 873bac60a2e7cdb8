package dev.llmembedder.index;

import java.util.Comparator;
import java.util.Objects;

/**
 * One result of {@link VectorIndex#search(float[], int)}. Immutable and therefore thread-safe.
 *
 * @param id    the id the vector was added under; never null
 * @param score the exact dot product of the query and the stored vector (for L2-normalised vectors, the
 *              cosine similarity in [-1, 1]); higher is more similar
 */
public record IndexHit(String id, float score) {

  /** Search order: score descending, ties broken by id ascending so that results are deterministic. */
  static final Comparator<IndexHit> ORDER =
      Comparator.comparing(IndexHit::score, Comparator.reverseOrder()).thenComparing(IndexHit::id);

  /**
   * Creates a hit.
   *
   * @throws NullPointerException if {@code id} is null
   */
  public IndexHit {
    Objects.requireNonNull(id, "id must not be null");
  }
}
