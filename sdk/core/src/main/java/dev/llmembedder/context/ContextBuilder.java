package dev.llmembedder.context;

import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import java.util.List;
import java.util.Objects;

/**
 * Fluent assembly of a {@link PromptContext} for one query: name the retrievers to consult and how many hits each
 * contributes, then {@link #build()}. For example {@code embedder.context(question).knowledge(3).build()}.
 *
 * <p>Not thread-safe (one builder per query); the retrievers it consults are.
 */
public final class ContextBuilder {
  private final String query;
  private final KnowledgeRetriever knowledgeRetriever;
  private int knowledgeK;

  /**
   * @param query the user's question or request; not null or only whitespace
   * @param knowledgeRetriever the retriever {@link #knowledge(int)} consults
   * @throws IllegalArgumentException if the query is null or only whitespace
   */
  public ContextBuilder(String query, KnowledgeRetriever knowledgeRetriever) {
    if (query == null || query.isBlank()) {
      throw new IllegalArgumentException("query is " + (query == null ? "null" : "only whitespace")
          + "; a context needs a query with text");
    }
    this.query = query;
    this.knowledgeRetriever = Objects.requireNonNull(knowledgeRetriever, "knowledgeRetriever");
  }

  /**
   * Adds the top {@code k} knowledge passages for the query.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder knowledge(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("knowledge k is " + k + "; must be at least 1");
    }
    this.knowledgeK = k;
    return this;
  }

  /** Runs the retrievers asked for and returns the context. */
  public PromptContext build() {
    List<DocumentHit> knowledge = knowledgeK > 0 ? knowledgeRetriever.retrieve(query, knowledgeK) : List.of();
    return new PromptContext(query, knowledge);
  }
}
