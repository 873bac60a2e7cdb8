/**
 * Hits to prompt text: {@link dev.llmembedder.context.ContextBuilder} asks the retrievers and
 * {@link dev.llmembedder.context.PromptContext} holds and renders what they found.
 */
package dev.llmembedder.context;
