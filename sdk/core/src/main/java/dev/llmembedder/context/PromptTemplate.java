package dev.llmembedder.context;

import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.Demonstration;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a {@link PromptContext} is rendered as text: a heading per section and a format per hit, with placeholders.
 * Set one with {@link ContextBuilder#template(PromptTemplate)}; {@link #DEFAULT} is used otherwise. Build one with
 * {@link #builder()} (which starts from the defaults) or {@link #toBuilder()}.
 *
 * <p><b>Layout.</b> The sections come in a fixed order: knowledge, the memories in the order asked, examples, tools.
 * A section with no hits is left out entirely (heading included). A section is its heading, verbatim, followed by
 * each hit's format filled in and followed by the {@link #separator()}; trailing whitespace of the whole rendering is
 * removed, so an empty context renders as {@code ""}.
 *
 * <p><b>Placeholders.</b> {@code {name}}, with a name of ASCII letters, is replaced by the hit's value in a single
 * pass (values are never scanned for placeholders). A brace that does not open such a placeholder is literal text
 * (JSON in a heading is fine). A placeholder a field does not know is refused when the template is made. Per field:
 *
 * <ul>
 *   <li>{@code knowledgeHit}: {@code {n}} (rank in the section, from 1), {@code {id}}, {@code {title}},
 *       {@code {titleLine}} (the title and a line break, or nothing when the title is empty), {@code {text}},
 *       {@code {score}}
 *   <li>{@code memoryHeading}: {@code {name}} (the memory's name)
 *   <li>{@code memoryHit} (one span): {@code {n}} (position in the section, from 1), {@code {name}}, {@code {text}}
 *       (the span's text with leading and trailing whitespace removed), {@code {first}} and {@code {last}} (its
 *       first and last chunk index, 0-based, inclusive), {@code {score}}
 *   <li>{@code exampleHit}: {@code {n}}, {@code {id}}, {@code {task}}, {@code {instruction}},
 *       {@code {instructionLine}} (the instruction without leading whitespace and a line break, or nothing when the
 *       instruction is blank), {@code {input}}, {@code {output}}, {@code {score}}
 *   <li>{@code toolHit}: {@code {n}}, {@code {id}}, {@code {name}}, {@code {description}}, {@code {api}} (the tool's
 *       API JSON, as handed to the LLM), {@code {score}}
 *   <li>{@code knowledgeHeading}, {@code examplesHeading}, {@code toolsHeading}, {@code separator}: none
 * </ul>
 *
 * <p>{@code {score}} is the hit's dot-product score with four decimals ({@code 0.8123}).
 *
 * <p>Immutable and thread-safe.
 *
 * @param knowledgeHeading text before the knowledge passages; default {@code "Knowledge:\n"}
 * @param knowledgeHit one passage; default {@code "[{n}] {titleLine}{text}"}
 * @param memoryHeading text before one memory's spans; default {@code "Memory ({name}):\n"}
 * @param memoryHit one memory span; default {@code "{text}"}
 * @param examplesHeading text before the demonstrations; default {@code "Examples:\n"}
 * @param exampleHit one demonstration; default {@code "{instructionLine}Input: {input}\nOutput: {output}"}, the
 *     layout of {@link dev.llmembedder.retriever.ExampleRetriever#DEFAULT_TEMPLATE}
 * @param toolsHeading text before the tools; default {@code "Tools:\n"}
 * @param toolHit one tool; default {@code "{name}: {description}\n{api}"}
 * @param separator after every hit (so also between sections); default {@code "\n\n"}
 */
public record PromptTemplate(String knowledgeHeading, String knowledgeHit, String memoryHeading, String memoryHit,
    String examplesHeading, String exampleHit, String toolsHeading, String toolHit, String separator) {

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z]+)}");
  static final Set<String> KNOWLEDGE_HIT = Set.of("n", "id", "title", "titleLine", "text", "score");
  static final Set<String> MEMORY_HEADING = Set.of("name");
  static final Set<String> MEMORY_HIT = Set.of("n", "name", "text", "first", "last", "score");
  static final Set<String> EXAMPLE_HIT =
      Set.of("n", "id", "task", "instruction", "instructionLine", "input", "output", "score");
  static final Set<String> TOOL_HIT = Set.of("n", "id", "name", "description", "api", "score");

  /** The default rendering: {@code PromptContext.render()} as it was before templates (see the field defaults). */
  public static final PromptTemplate DEFAULT = new PromptTemplate("Knowledge:\n", "[{n}] {titleLine}{text}",
      "Memory ({name}):\n", "{text}", "Examples:\n", "{instructionLine}Input: {input}\nOutput: {output}", "Tools:\n",
      "{name}: {description}\n{api}", "\n\n");

  /**
   * @throws IllegalArgumentException if a field is null, or uses a placeholder it does not know (the message names
   *     the field, the placeholder and the allowed ones)
   */
  public PromptTemplate {
    check("knowledgeHeading", knowledgeHeading, Set.of());
    check("knowledgeHit", knowledgeHit, KNOWLEDGE_HIT);
    check("memoryHeading", memoryHeading, MEMORY_HEADING);
    check("memoryHit", memoryHit, MEMORY_HIT);
    check("examplesHeading", examplesHeading, Set.of());
    check("exampleHit", exampleHit, EXAMPLE_HIT);
    check("toolsHeading", toolsHeading, Set.of());
    check("toolHit", toolHit, TOOL_HIT);
    check("separator", separator, Set.of());
  }

  /** A builder starting from {@link #DEFAULT}. */
  public static Builder builder() {
    return DEFAULT.toBuilder();
  }

  /** A builder starting from this template. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  private static void check(String field, String format, Set<String> allowed) {
    if (format == null) {
      throw new IllegalArgumentException("template field " + field + " is null; use \"\" for nothing");
    }
    Matcher m = PLACEHOLDER.matcher(format);
    while (m.find()) {
      if (!allowed.contains(m.group(1))) {
        throw new IllegalArgumentException("template field " + field + " uses unknown placeholder " + m.group()
            + "; allowed: " + (allowed.isEmpty() ? "none" : allowed.stream().sorted().map(p -> "{" + p + "}")
                .toList()));
      }
    }
  }

  /**
   * {@code format} with each placeholder replaced by {@code values.get(name)}, in one pass. The format was checked
   * when the template was made, so every placeholder has a value.
   */
  static String fill(String format, Map<String, String> values) {
    Matcher m = PLACEHOLDER.matcher(format);
    StringBuilder out = new StringBuilder(format.length() + 64);
    int at = 0;
    while (m.find()) {
      String value = values.get(m.group(1));
      out.append(format, at, m.start()).append(Objects.requireNonNull(value, m.group()));
      at = m.end();
    }
    return out.append(format, at, format.length()).toString();
  }

  /** The whole rendering of these sections (see the class comment); {@code ""} when all are empty. */
  String render(List<DocumentHit> knowledge, List<PromptContext.MemorySection> memory, List<ExampleHit> examples,
      List<ToolHit> tools) {
    StringBuilder out = new StringBuilder();
    if (!knowledge.isEmpty()) {
      out.append(knowledgeHeading);
      for (int i = 0; i < knowledge.size(); i++) {
        out.append(knowledge(knowledge.get(i), i + 1)).append(separator);
      }
    }
    for (PromptContext.MemorySection section : memory) {
      if (!section.spans().isEmpty()) {
        out.append(memoryHeading(section.name()));
        for (int i = 0; i < section.spans().size(); i++) {
          out.append(memory(section.name(), section.spans().get(i), i + 1)).append(separator);
        }
      }
    }
    if (!examples.isEmpty()) {
      out.append(examplesHeading);
      for (int i = 0; i < examples.size(); i++) {
        out.append(example(examples.get(i), i + 1)).append(separator);
      }
    }
    if (!tools.isEmpty()) {
      out.append(toolsHeading);
      for (int i = 0; i < tools.size(); i++) {
        out.append(tool(tools.get(i), i + 1)).append(separator);
      }
    }
    return out.toString().stripTrailing();
  }

  /** One knowledge passage, {@code n}-th in its section (from 1). */
  String knowledge(DocumentHit hit, int n) {
    Document d = hit.document();
    return fill(knowledgeHit, Map.of("n", Integer.toString(n), "id", d.id(), "title", d.title(),
        "titleLine", d.title().isEmpty() ? "" : d.title() + "\n", "text", d.text(), "score", score(hit.score())));
  }

  /** The heading of memory {@code name}. */
  String memoryHeading(String name) {
    return fill(memoryHeading, Map.of("name", name));
  }

  /** One span of memory {@code name}, {@code n}-th in its section (from 1). */
  String memory(String name, MemorySpan span, int n) {
    return fill(memoryHit, Map.of("n", Integer.toString(n), "name", name, "text", span.text().strip(),
        "first", Integer.toString(span.firstChunk()), "last", Integer.toString(span.lastChunk()),
        "score", score(span.score())));
  }

  /** One demonstration, {@code n}-th in its section (from 1). */
  String example(ExampleHit hit, int n) {
    Demonstration d = hit.demonstration();
    return fill(exampleHit, Map.of("n", Integer.toString(n), "id", d.id(), "task", d.task(),
        "instruction", d.instruction(),
        "instructionLine", d.instruction().isBlank() ? "" : d.instruction().stripLeading() + "\n",
        "input", d.input(), "output", d.output(), "score", score(hit.score())));
  }

  /** One tool, {@code n}-th in its section (from 1). */
  String tool(ToolHit hit, int n) {
    Tool t = hit.tool();
    return fill(toolHit, Map.of("n", Integer.toString(n), "id", t.id(), "name", t.name(),
        "description", t.description(), "api", t.api(), "score", score(hit.score())));
  }

  /** A score as {@code {score}} shows it. */
  static String score(float score) {
    return String.format(Locale.ROOT, "%.4f", score);
  }

  /** Builds a {@link PromptTemplate}; every setter takes the field's text as described there. Not thread-safe. */
  public static final class Builder {
    private final String[] fields;

    private Builder(PromptTemplate t) {
      fields = new String[] {t.knowledgeHeading, t.knowledgeHit, t.memoryHeading, t.memoryHit, t.examplesHeading,
          t.exampleHit, t.toolsHeading, t.toolHit, t.separator};
    }

    /** See {@link PromptTemplate#knowledgeHeading()}. */
    public Builder knowledgeHeading(String text) {
      return set(0, text);
    }

    /** See {@link PromptTemplate#knowledgeHit()}. */
    public Builder knowledgeHit(String format) {
      return set(1, format);
    }

    /** See {@link PromptTemplate#memoryHeading()}. */
    public Builder memoryHeading(String format) {
      return set(2, format);
    }

    /** See {@link PromptTemplate#memoryHit()}. */
    public Builder memoryHit(String format) {
      return set(3, format);
    }

    /** See {@link PromptTemplate#examplesHeading()}. */
    public Builder examplesHeading(String text) {
      return set(4, text);
    }

    /** See {@link PromptTemplate#exampleHit()}. */
    public Builder exampleHit(String format) {
      return set(5, format);
    }

    /** See {@link PromptTemplate#toolsHeading()}. */
    public Builder toolsHeading(String text) {
      return set(6, text);
    }

    /** See {@link PromptTemplate#toolHit()}. */
    public Builder toolHit(String format) {
      return set(7, format);
    }

    /** See {@link PromptTemplate#separator()}. */
    public Builder separator(String text) {
      return set(8, text);
    }

    private Builder set(int field, String value) {
      fields[field] = value; // checked by build(), which names the field
      return this;
    }

    /**
     * The template.
     *
     * @throws IllegalArgumentException if a field is null or uses a placeholder it does not know
     */
    public PromptTemplate build() {
      return new PromptTemplate(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6],
          fields[7], fields[8]);
    }
  }
}
