package dev.llmembedder.context;

import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.util.List;
import java.util.Objects;
import java.util.function.ToIntFunction;

/**
 * The retrieved context for one LLM prompt: what each retriever found for the query, in typed sections with their
 * scores, a rendering of it as text ({@link #render()}) with its size in tokens ({@link #tokenCount()}), and, when a
 * token budget was set ({@link ContextBuilder#maxTokens(int)}), the hits that were left out to meet it
 * ({@link #dropped()}). Built by {@link ContextBuilder}. Immutable and thread-safe.
 */
public final class PromptContext {
  /** The kinds of section a context has. */
  public enum Section {
    /** Passages from the knowledge retriever. */
    KNOWLEDGE,
    /** Spans of a named memory. */
    MEMORY,
    /** In-context demonstrations. */
    EXAMPLES,
    /** Tools with their APIs. */
    TOOLS
  }

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

  /**
   * A hit that the retrievers found but the token budget left out.
   *
   * @param section the section it would have been in
   * @param id the passage's id ({@link Section#KNOWLEDGE}), the demonstration's id ({@link Section#EXAMPLES}), the
   *     tool's id ({@link Section#TOOLS}), or {@code name:first-last} for a memory span ({@link Section#MEMORY}: the
   *     memory's name and the span's first and last chunk index, inclusive)
   * @param score the hit's score (for a memory span, the best score of the hits that brought it)
   * @param tokens the hit's rendering, with its separator, in tokens as counted when fitting the budget (its
   *     section's heading not included)
   */
  public record DroppedHit(Section section, String id, float score, int tokens) {
    public DroppedHit {
      Objects.requireNonNull(section, "section");
      Objects.requireNonNull(id, "id");
    }
  }

  private final String query;
  private final List<DocumentHit> knowledge;
  private final List<MemorySection> memory;
  private final List<ExampleHit> examples;
  private final List<ToolHit> tools;
  private final List<DroppedHit> dropped;
  private final PromptTemplate template;
  private final String rendered;
  /** Counts {@code rendered} when {@link #tokenCount} is first asked for; null when it was counted while building. */
  private final ToIntFunction<String> counter;
  /** -1 until counted; a race only counts twice, to the same figure. */
  private volatile int tokenCount;

  /**
   * @param tokenCount the tokens of {@code rendered}, or -1 to have {@code counter} count them when first asked for
   */
  PromptContext(String query, List<DocumentHit> knowledge, List<MemorySection> memory, List<ExampleHit> examples,
      List<ToolHit> tools, List<DroppedHit> dropped, PromptTemplate template, String rendered, int tokenCount,
      ToIntFunction<String> counter) {
    this.query = query;
    this.knowledge = List.copyOf(knowledge);
    this.memory = List.copyOf(memory);
    this.examples = List.copyOf(examples);
    this.tools = List.copyOf(tools);
    this.dropped = List.copyOf(dropped);
    this.template = template;
    this.rendered = rendered;
    this.tokenCount = tokenCount;
    this.counter = tokenCount < 0 ? Objects.requireNonNull(counter, "counter") : null;
  }

  /** The query the context was built for. */
  public String query() {
    return query;
  }

  /** Knowledge passages with their scores, best first; empty when knowledge was not asked for. */
  public List<DocumentHit> knowledge() {
    return knowledge;
  }

  /** One section per memory asked for, in the order asked (present even when it has no spans). */
  public List<MemorySection> memory() {
    return memory;
  }

  /** In-context demonstrations with their scores, best first; empty when examples were not asked for. */
  public List<ExampleHit> examples() {
    return examples;
  }

  /**
   * Tools with their scores, best first; empty when tools were not asked for. {@link ToolHit#tool()}'s
   * {@code api()} is the JSON to hand to the LLM as its tool list.
   */
  public List<ToolHit> tools() {
    return tools;
  }

  /**
   * The hits left out to meet the token budget, lowest score first (the order they were dropped in); empty when no
   * budget was set or the whole context fitted.
   */
  public List<DroppedHit> dropped() {
    return dropped;
  }

  /** Whether the token budget left out at least one hit ({@code !dropped().isEmpty()}). */
  public boolean truncated() {
    return !dropped.isEmpty();
  }

  /** The template {@link #render()} uses. */
  public PromptTemplate template() {
    return template;
  }

  /**
   * The context as prompt text, rendered with {@link #template()}: each non-empty section under its heading, in the
   * order knowledge, memories (in the order asked), examples, tools. With {@link PromptTemplate#DEFAULT}:
   * {@code Knowledge:} with passages numbered from 1, best first, as {@code [n] title\ntext} (no title line when the
   * title is empty); {@code Memory (name):} with its spans in stream order; {@code Examples:} as
   * {@code instruction\nInput: input\nOutput: output} (no instruction line when it is blank); {@code Tools:} as
   * {@code name: description\napi}; hits separated by blank lines. An empty context renders as {@code ""}.
   */
  public String render() {
    return rendered;
  }

  /**
   * The number of tokens of {@link #render()} in the encoder's tokenizer, without the special tokens the tokenizer
   * adds around a sequence ({@code [CLS]} and {@code [SEP]} for BERT-like models): {@code 0} for an empty context.
   * This is {@code encoder.countTokens(render()) - encoder.countTokens("")}, with no truncation. The LLM's own
   * tokenizer will count differently; the figure is for budgeting, and it is what
   * {@link ContextBuilder#maxTokens(int)} bounds.
   *
   * <p>A context built with a budget was counted while it was built. One built without is counted on the first call
   * (then remembered): the rendering is tokenized then, about 4 ms for 1,000 tokens with the default model on the
   * development machine, a cost that a caller who never asks does not pay.
   *
   * @throws IllegalStateException if this first count is asked for after the encoder (the embedder) was closed
   */
  public int tokenCount() {
    int n = tokenCount;
    if (n < 0) {
      try {
        n = counter.applyAsInt(rendered);
      } catch (IllegalStateException e) {
        throw new IllegalStateException("cannot count this context's tokens: " + e.getMessage() + " (a context"
            + " built without maxTokens is counted on the first tokenCount(); call it before closing the embedder)",
            e);
      }
      tokenCount = n;
    }
    return n;
  }

  @Override
  public String toString() {
    return "PromptContext[query=" + query + ", knowledge=" + knowledge.size() + " hits, memory=" + memory.size()
        + " sections, examples=" + examples.size() + " hits, tools=" + tools.size() + " hits, "
        + (tokenCount >= 0 ? tokenCount + " tokens" : "tokens not counted yet") + ", dropped=" + dropped.size()
        + " hits]";
  }
}
