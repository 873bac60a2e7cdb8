package dev.llmembedder.index;

import java.util.Objects;

/**
 * The settings of a {@link VectorIndex}; persisted in {@code manifest.json} so that an opened index behaves
 * like the saved one. Each check names the setting and the allowed range.
 */
record IndexConfig(int dimension, SearchMode searchMode, int exactSearchThreshold, int maxDegree, int beamWidth,
          int searchBeamWidth) {

  static final int DEFAULT_EXACT_SEARCH_THRESHOLD = 10_000;
  static final int DEFAULT_MAX_DEGREE = 32;
  static final int DEFAULT_BEAM_WIDTH = 100;
  static final int DEFAULT_SEARCH_BEAM_WIDTH = 100;

  IndexConfig {
    checkDimension(dimension);
    Objects.requireNonNull(searchMode, "searchMode must not be null");
    checkExactSearchThreshold(exactSearchThreshold);
    checkMaxDegree(maxDegree);
    checkBeamWidth(beamWidth, "beamWidth");
    checkBeamWidth(searchBeamWidth, "searchBeamWidth");
  }

  static int checkDimension(int dimension) {
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension must be at least 1, got: " + dimension);
    }
    return dimension;
  }

  static int checkExactSearchThreshold(int threshold) {
    if (threshold < 0) {
      throw new IllegalArgumentException("exactSearchThreshold must be >= 0, got: " + threshold);
    }
    return threshold;
  }

  static int checkMaxDegree(int maxDegree) {
    if (maxDegree < 2 || maxDegree > 512) {
      throw new IllegalArgumentException("maxDegree must be in [2, 512], got: " + maxDegree);
    }
    return maxDegree;
  }

  static int checkBeamWidth(int beamWidth, String name) {
    if (beamWidth < 1 || beamWidth > 10_000) {
      throw new IllegalArgumentException(name + " must be in [1, 10000], got: " + beamWidth);
    }
    return beamWidth;
  }
}
