/**
 * LLM-Embedder for Java: retrieval augmentation for LLM applications, in-process. Start at
 * {@link dev.llmembedder.LlmEmbedder}. Data flows one way, one package per step: {@code encoder} (text to embedding),
 * {@code index} (embeddings to nearest neighbours, persisted), {@code retriever} (hits per task), {@code context}
 * (hits to prompt text); {@code eval} measures retrieval on BEIR datasets.
 */
package dev.llmembedder;
