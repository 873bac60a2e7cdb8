package dev.llmembedder.index;

import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;

/** Argument checks shared by the public classes of this package; messages name the bad value. */
final class Checks {
  static final VectorTypeSupport VECTORS = VectorizationProvider.getInstance().getVectorTypeSupport();

  private Checks() {
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

  /** Returns a private copy of {@code vector} as a jvector vector, after checking its length and components. */
  static VectorFloat<?> vector(float[] vector, int dimension, String name) {
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
    return VECTORS.createFloatVector(vector.clone());
  }

  static void k(int k) {
    if (k <= 0) {
      throw new IllegalArgumentException("k must be positive, got: " + k);
    }
  }
}
