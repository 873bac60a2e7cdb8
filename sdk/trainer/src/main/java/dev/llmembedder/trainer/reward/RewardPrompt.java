package dev.llmembedder.trainer.reward;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text the LLM reads before the answer: a template with the placeholders {@code {candidate}} and {@code {query}}.
 * The answer is always appended right after the rendered prompt, as it is; it is the only text scored.
 *
 * <p><b>Placeholders.</b> {@code {candidate}} and {@code {query}} are replaced in a single pass (a candidate that
 * contains {@code "{query}"} stays as it is). Any other {@code {name}} with a name of ASCII letters, digits and
 * underscores is refused when the template is made, {@code {answer}} included (the answer goes last, after the
 * template); other braces are literal text, so JSON in a template is fine.
 *
 * <p><b>Where the prompt ends.</b> End the template with a separator such as a line break, as {@link #DEFAULT}
 * does, so that no tokenizer merges the prompt's last characters with the answer's first: then both scorers see the
 * same answer tokens (see {@link OnnxCausalLmScorer} and {@link OpenAiCompletionsScorer} on how each finds them).
 *
 * <p>Immutable and thread-safe.
 *
 * @param template the prompt before the answer, with {@code {candidate}} and {@code {query}}; either may be left out
 */
public record RewardPrompt(String template) {
  // before DEFAULT: static fields initialise in order, and DEFAULT's constructor uses it
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z0-9_]+)}");

  /** {@code "{candidate}\n{query}\n"}: the candidate, a line break, the query, a line break, then the answer. */
  public static final RewardPrompt DEFAULT = new RewardPrompt("{candidate}\n{query}\n");

  /** @throws IllegalArgumentException if the template is null or holds a placeholder other than the two */
  public RewardPrompt {
    Objects.requireNonNull(template, "template is null");
    Matcher m = PLACEHOLDER.matcher(template);
    while (m.find()) {
      String name = m.group(1);
      if (!name.equals("candidate") && !name.equals("query")) {
        throw new IllegalArgumentException("reward prompt template has the placeholder {" + name + "} at index "
            + m.start() + "; only {candidate} and {query} exist"
            + (name.equals("answer") ? " (the answer is appended after the template)" : ""));
      }
    }
  }

  /** The prompt for one request: the template with its placeholders filled in. */
  public String render(String candidate, String query) {
    Matcher m = PLACEHOLDER.matcher(template);
    StringBuilder out = new StringBuilder(template.length() + candidate.length() + query.length());
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(m.group(1).equals("candidate") ? candidate : query));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** The prompt for {@code request}. */
  public String render(ScoreRequest request) {
    return render(request.candidate(), request.query());
  }
}
