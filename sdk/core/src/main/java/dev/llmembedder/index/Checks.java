package dev.llmembedder.index;

import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;

/** Argument checks shared by the public classes of this package; messages name the bad value. */
final class Checks {
  static final VectorTypeSupport VECTORS = VectorizationProvider.getInstance().getVectorTypeSupport();

  /**
   * The largest L2 norm a stored or query vector may have: the dot product of two such vectors, and every partial
   * sum of it, stays below {@link Float#MAX_VALUE} (|a.b| <= |a| |b| <= 1e38), so no score overflows to infinity.
   * An encoder's embeddings have norm 1.
   */
  static final double MAX_NORM = 1e19;

  private Checks() {
  }

  /** The L2 norm of {@code vector}, summed in double (no overflow for finite floats). */
  static double norm(float[] vector) {
    double sum = 0;
    for (float x : vector) {
      sum += (double) x * x;
    }
    return Math.sqrt(sum);
  }

  /** Returns {@code id} if it is non-null and not blank. */
  static String id(String id, String name) {
    if (id == null) {
      throw new NullPointerException(name + " must not be null");
    }
    if (id.isBlank()) {
      throw new IllegalArgumentException(name + " must not be blank, got: \"" + id + "\"");
    }
    return id;
  }

  /** Returns a private copy of {@code vector} as a jvector vector, after {@link #checked checking} it. */
  static VectorFloat<?> vector(float[] vector, int dimension, String name) {
    return VECTORS.createFloatVector(checked(vector, dimension, name).clone());
  }

  /**
   * Returns {@code vector} (not copied) after checking that it is non-null, of length {@code dimension}, with finite
   * components and an L2 norm at most {@link #MAX_NORM}; the messages name {@code name}.
   */
  static float[] checked(float[] vector, int dimension, String name) {
    if (vector == null) {
      throw new NullPointerException(name + " must not be null");
    }
    if (vector.length != dimension) {
      throw new IllegalArgumentException(
          name + " has dimension " + vector.length + ", expected dimension " + dimension);
    }
    for (int i = 0; i < vector.length; i++) {
      if (!Float.isFinite(vector[i])) {
        throw new IllegalArgumentException(
            name + "[" + i + "] is " + vector[i] + "; every component must be finite");
      }
    }
    double norm = norm(vector);
    if (norm > MAX_NORM) {
      throw new IllegalArgumentException(name + " has L2 norm " + norm + "; at most " + MAX_NORM
          + " (a larger one overflows float dot products; embeddings have norm 1)");
    }
    return vector;
  }

  static void k(int k) {
    if (k <= 0) {
      throw new IllegalArgumentException("k must be positive, got: " + k);
    }
  }
}
