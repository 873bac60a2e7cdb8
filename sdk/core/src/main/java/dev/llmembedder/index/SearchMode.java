package dev.llmembedder.index;

/**
 * How {@link VectorIndex#search(float[], int)} finds the nearest neighbours of a query.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum SearchMode {
  /**
   * Exact scan while the index holds fewer live vectors than
   * {@link VectorIndex.Builder#exactSearchThreshold(int)}, approximate graph search from then on. The graph
   * is built (in parallel) by the write that first reaches the threshold and maintained from then on.
   */
  AUTO,
  /** Always approximate search over the proximity graph, which is maintained from the first write. */
  GRAPH,
  /** Always an exact scan over every live vector; no graph is built. */
  EXACT
}
