/**
 * LangChain4j integration: {@link dev.llmembedder.langchain4j.LlmEmbedderEmbeddingModel}, the SDK's encoder as a
 * LangChain4j {@code EmbeddingModel}, and {@link dev.llmembedder.langchain4j.LlmEmbedderContentRetrievers}, its
 * knowledge, memory, example and tool retrievers as {@code ContentRetriever}s. Optional: the core SDK does not need it.
 */
package dev.llmembedder.langchain4j;
