package dev.llmembedder.eval;

import java.util.Objects;

/**
 * One document of a BEIR corpus: a line of {@code corpus.jsonl} ({@code _id}, {@code title}, {@code text}; the
 * {@code metadata} field is not kept).
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe.
 *
 * @param id the document id ({@code _id}); non-empty
 * @param title the title; {@code ""} when the document has none
 * @param text the body
 */
public record CorpusDoc(String id, String title, String text) {
  /**
   * @throws NullPointerException if any component is null (use {@code ""} for no title)
   * @throws IllegalArgumentException if {@code id} is empty
   */
  public CorpusDoc {
    Objects.requireNonNull(id, "id is null");
    Objects.requireNonNull(title, () -> "title of document '" + id + "' is null; use \"\" for none");
    Objects.requireNonNull(text, () -> "text of document '" + id + "' is null");
    if (id.isEmpty()) {
      throw new IllegalArgumentException("document id is empty; expected a non-empty string");
    }
  }

  /**
   * The text to embed, as BEIR's and MTEB's dense-retrieval evaluators build it: {@code title + " " + text} when
   * the title is non-empty, else {@code text}. (They also strip surrounding whitespace; BERT tokenizers ignore it.)
   */
  public String titleAndText() {
    return title.isEmpty() ? text : title + " " + text;
  }
}
