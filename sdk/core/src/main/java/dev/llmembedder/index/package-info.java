/**
 * Embedding indexes for retrieval: {@link dev.llmembedder.index.VectorIndex} maps string ids to
 * {@code float[dimension]} vectors and returns the nearest by exact dot product, by exact scan or approximate
 * jvector graph search ({@link dev.llmembedder.index.SearchMode}); {@link dev.llmembedder.index.DocumentIndex}
 * stores {@link dev.llmembedder.index.Document}s with their embeddings on top of it. Both are thread-safe and
 * save to a directory crash-safely (generation files committed by an atomically replaced
 * {@code manifest.json}, each file verified by CRC32C on open). For large, static collections
 * {@link dev.llmembedder.index.DiskVectorIndex} is built once into a directory and searched from a memory-mapped
 * jvector graph with product-quantized vectors in the heap and exact re-ranking.
 */
package dev.llmembedder.index;
