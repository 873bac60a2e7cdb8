package dev.llmembedder.context;

import dev.llmembedder.index.DocumentHit;
import java.util.List;

/**
 * The retrieved context for one LLM prompt: what each retriever found for the query, and a rendering of it as text.
 * Built by {@link ContextBuilder}. Immutable and thread-safe.
 */
public final class PromptContext {
  private final String query;
  private final List<DocumentHit> knowledge;

  PromptContext(String query, List<DocumentHit> knowledge) {
    this.query = query;
    this.knowledge = List.copyOf(knowledge);
  }

  /** The query the context was built for. */
  public String query() {
    return query;
  }

  /** Knowledge passages, best first; empty when knowledge was not asked for. */
  public List<DocumentHit> knowledge() {
    return knowledge;
  }

  /**
   * The context as prompt text: each section under a heading, passages numbered from 1, best first, as
   * {@code [n] title\ntext}. Empty sections are left out; an empty context renders as {@code ""}.
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
    return out.toString().stripTrailing();
  }

  @Override
  public String toString() {
    return "PromptContext[query=" + query + ", knowledge=" + knowledge.size() + " hits]";
  }
}
