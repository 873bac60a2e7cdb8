package dev.llmembedder.index;

/**
 * The settings of a {@link DiskVectorIndex}, persisted in its {@code manifest.json}. Each check names the setting
 * and the allowed range.
 *
 * @param dimension       length of every vector
 * @param size            number of vectors (and ids)
 * @param pqSubspaces     product-quantization subspaces, i.e. bytes per compressed vector
 * @param maxDegree       neighbours per graph node
 * @param beamWidth       candidates per insert while building the graph
 * @param searchBeamWidth default candidates per search, every one re-ranked on its full-precision vector
 */
record DiskIndexConfig(int dimension, int size, int pqSubspaces, int maxDegree, int beamWidth,
    int searchBeamWidth) {

  DiskIndexConfig {
    IndexConfig.checkDimension(dimension);
    if (size < 1) {
      throw new IllegalArgumentException("size must be at least 1, got: " + size);
    }
    checkPqSubspaces(pqSubspaces, dimension);
    IndexConfig.checkMaxDegree(maxDegree);
    IndexConfig.checkBeamWidth(beamWidth, "beamWidth");
    IndexConfig.checkBeamWidth(searchBeamWidth, "searchBeamWidth");
  }

  /** Default subspaces: one per 4 dimensions (96 bytes per 384-dimensional vector), at least 1. */
  static int defaultPqSubspaces(int dimension) {
    return Math.max(1, dimension / 4);
  }

  static int checkPqSubspaces(int pqSubspaces, int dimension) {
    if (pqSubspaces < 1 || pqSubspaces > dimension) {
      throw new IllegalArgumentException(
          "pqSubspaces must be in [1, dimension = " + dimension + "], got: " + pqSubspaces);
    }
    return pqSubspaces;
  }
}
