/**
 * Hits for a query, per kind of retrieval LLM-Embedder serves: {@link dev.llmembedder.retriever.KnowledgeRetriever}
 * (passages for a question). Each retriever pairs the shared encoder, with its task's instructions, and an index.
 */
package dev.llmembedder.retriever;
