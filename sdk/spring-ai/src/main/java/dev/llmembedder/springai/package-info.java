/**
 * Spring AI integration: {@link dev.llmembedder.springai.LlmEmbedderEmbeddingModel}, the SDK's encoder as a Spring AI
 * {@code EmbeddingModel}. Optional: the core SDK does not need it.
 */
package dev.llmembedder.springai;
