/**
 * Hits to prompt text: {@link dev.llmembedder.context.ContextBuilder} asks the retrievers (concurrently, one query
 * encoding per distinct instruction) and fits the result to a token budget,
 * {@link dev.llmembedder.context.PromptContext} holds what they found and its rendering, and
 * {@link dev.llmembedder.context.PromptTemplate} says how it is rendered.
 */
package dev.llmembedder.context;
