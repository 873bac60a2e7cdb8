package dev.llmembedder.context;

import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Fluent assembly of a {@link PromptContext} for one query: name the retrievers to consult and how many hits each
 * contributes, then {@link #build()}. For example
 * {@code embedder.context(question).knowledge(3).memory("book", 2).examples(2).build()}. A retriever that holds no
 * data contributes nothing; it is not an error.
 *
 * <p>Not thread-safe (one builder per query); the retrievers it consults are.
 */
public final class ContextBuilder {
  private final String query;
  private final KnowledgeRetriever knowledgeRetriever;
  private final ExampleRetriever exampleRetriever;
  private final Function<String, MemoryRetriever> memories;
  private int knowledgeK;
  private int examplesK;
  private String examplesTask;
  private final List<MemoryRetriever> memoryRetrievers = new ArrayList<>();
  private final List<Integer> memoryKs = new ArrayList<>();

  /**
   * @param query the user's question or request; not null or only whitespace
   * @param knowledgeRetriever what {@link #knowledge(int)} consults
   * @param exampleRetriever what {@link #examples(int)} consults
   * @param memories finds a memory by name, throwing {@link IllegalArgumentException} for an unknown one
   * @throws IllegalArgumentException if the query is null or only whitespace
   */
  public ContextBuilder(String query, KnowledgeRetriever knowledgeRetriever, ExampleRetriever exampleRetriever,
      Function<String, MemoryRetriever> memories) {
    if (query == null || query.isBlank()) {
      throw new IllegalArgumentException("query is " + (query == null ? "null" : "only whitespace")
          + "; a context needs a query with text");
    }
    this.query = query;
    this.knowledgeRetriever = Objects.requireNonNull(knowledgeRetriever, "knowledgeRetriever");
    this.exampleRetriever = Objects.requireNonNull(exampleRetriever, "exampleRetriever");
    this.memories = Objects.requireNonNull(memories, "memories");
  }

  /**
   * Adds the top {@code k} knowledge passages for the query.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder knowledge(int k) {
    this.knowledgeK = checkK("knowledge", k);
    return this;
  }

  /**
   * Adds the spans of memory {@code name} that the query finds: its top {@code k} chunks, each with its continuation,
   * in stream order.
   *
   * @throws IllegalArgumentException if {@code k < 1} or there is no memory of that name
   */
  public ContextBuilder memory(String name, int k) {
    memoryKs.add(checkK("memory", k));
    memoryRetrievers.add(memories.apply(name));
    return this;
  }

  /**
   * Adds the top {@code k} in-context demonstrations for the query, from every task.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder examples(int k) {
    return examples(k, null);
  }

  /**
   * Adds the top {@code k} in-context demonstrations of {@code task} (all tasks when null) for the query.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder examples(int k, String task) {
    this.examplesK = checkK("examples", k);
    this.examplesTask = task;
    return this;
  }

  /** Runs the retrievers asked for and returns the context. */
  public PromptContext build() {
    List<DocumentHit> knowledge = knowledgeK > 0 && knowledgeRetriever.size() > 0
        ? knowledgeRetriever.retrieve(query, knowledgeK) : List.of();
    List<ExampleHit> examples = examplesK > 0 && exampleRetriever.size() > 0
        ? exampleRetriever.retrieve(query, examplesK, examplesTask) : List.of();
    List<PromptContext.MemorySection> memory = new ArrayList<>();
    for (int i = 0; i < memoryRetrievers.size(); i++) {
      MemoryRetriever m = memoryRetrievers.get(i);
      List<MemorySpan> spans = m.isEmpty() ? List.of() : m.retrieve(query, memoryKs.get(i));
      memory.add(new PromptContext.MemorySection(m.name(), spans));
    }
    return new PromptContext(query, knowledge, memory, examples);
  }

  private static int checkK(String what, int k) {
    if (k < 1) {
      throw new IllegalArgumentException(what + " k is " + k + "; must be at least 1");
    }
    return k;
  }
}
