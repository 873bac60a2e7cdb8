package dev.llmembedder.context;

import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import java.util.List;

/**
 * The retrieved context for one LLM prompt: what each retriever found for the query, in typed sections, and a
 * rendering of it as text. Built by {@link ContextBuilder}. Immutable and thread-safe.
 */
public final class PromptContext {
  /**
   * What one memory contributed.
   *
   * @param name the memory's name
   * @param spans its spans, in stream order
   */
  public record MemorySection(String name, List<MemorySpan> spans) {
    public MemorySection {
      spans = List.copyOf(spans);
    }
  }

  private final String query;
  private final List<DocumentHit> knowledge;
  private final List<MemorySection> memory;
  private final List<ExampleHit> examples;

  PromptContext(String query, List<DocumentHit> knowledge, List<MemorySection> memory, List<ExampleHit> examples) {
    this.query = query;
    this.knowledge = List.copyOf(knowledge);
    this.memory = List.copyOf(memory);
    this.examples = List.copyOf(examples);
  }

  /** The query the context was built for. */
  public String query() {
    return query;
  }

  /** Knowledge passages, best first; empty when knowledge was not asked for. */
  public List<DocumentHit> knowledge() {
    return knowledge;
  }

  /** One section per memory asked for, in the order asked. */
  public List<MemorySection> memory() {
    return memory;
  }

  /** In-context demonstrations, best first; empty when examples were not asked for. */
  public List<ExampleHit> examples() {
    return examples;
  }

  /**
   * The context as prompt text, each non-empty section under a heading: {@code Knowledge:} with passages numbered
   * from 1, best first, as {@code [n] title\ntext}; {@code Memory (name):} with its spans in stream order;
   * {@code Examples:} rendered with {@link ExampleRetriever#DEFAULT_TEMPLATE}. An empty context renders as {@code ""}.
   */
  public String render() {
    StringBuilder out = new StringBuilder();
    if (!knowledge.isEmpty()) {
      out.append("Knowledge:\n");
      int n = 1;
      for (DocumentHit hit : knowledge) {
        out.append('[').append(n++).append("] ");
        if (!hit.document().title().isEmpty()) {
          out.append(hit.document().title()).append('\n');
        }
        out.append(hit.document().text()).append("\n\n");
      }
    }
    for (MemorySection section : memory) {
      if (!section.spans().isEmpty()) {
        out.append("Memory (").append(section.name()).append("):\n");
        for (MemorySpan span : section.spans()) {
          out.append(span.text().strip()).append("\n\n");
        }
      }
    }
    if (!examples.isEmpty()) {
      out.append("Examples:\n").append(ExampleRetriever.render(examples, ExampleRetriever.DEFAULT_TEMPLATE))
          .append("\n\n");
    }
    return out.toString().stripTrailing();
  }

  @Override
  public String toString() {
    return "PromptContext[query=" + query + ", knowledge=" + knowledge.size() + " hits, memory=" + memory.size()
        + " sections, examples=" + examples.size() + " hits]";
  }
}
