package dev.llmembedder.retriever;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An in-context demonstration: a solved example of a task, retrieved to show the LLM how to solve a new input.
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe.
 *
 * @param id unique within an {@link ExampleRetriever}; not blank
 * @param task the task's name (for filtering, e.g. {@code "paraphrase"}); may be empty
 * @param instruction what the task asks (may be empty)
 * @param input the example's input; not null
 * @param output the example's expected output; not null
 */
public record Demonstration(String id, String task, String instruction, String input, String output) {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{(instruction|input|output|task)}");

  /** @throws IllegalArgumentException naming the field that is null or blank when it must not be */
  public Demonstration {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("demonstration id is " + (id == null ? "null" : "blank") + "; required");
    }
    task = Objects.requireNonNullElse(task, "");
    instruction = Objects.requireNonNullElse(instruction, "");
    if (input == null || output == null) {
      throw new IllegalArgumentException("demonstration " + id + " has a null " + (input == null ? "input" : "output"));
    }
  }

  /**
   * The text embedded as its key: {@code instruction + "\n"} (when there is one), then {@code input + "\n" + output},
   * the layout of LLM-Embedder's icl training keys.
   */
  public String keyText() {
    return (instruction.isEmpty() ? "" : instruction + "\n") + input + "\n" + output;
  }

  /**
   * Fills {@code template}: {@code {instruction}}, {@code {input}}, {@code {output}} and {@code {task}} are replaced in
   * one pass, so braces inside the demonstration's own text stay as they are.
   */
  public String render(String template) {
    return PLACEHOLDER.matcher(template).replaceAll(m -> Matcher.quoteReplacement(switch (m.group(1)) {
      case "instruction" -> instruction;
      case "input" -> input;
      case "output" -> output;
      default -> task;
    }));
  }
}
