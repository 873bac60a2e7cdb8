package dev.llmembedder.index;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A retrievable document: the unit stored in a {@link DocumentIndex} next to its embedding. Immutable and
 * therefore thread-safe.
 *
 * @param id       unique key; not null, not blank
 * @param title    title, possibly empty; null becomes {@code ""}
 * @param text     the text that was embedded; not null (may be empty)
 * @param metadata free-form string attributes (source, language, ...) for filtering and display; copied into
 *                 an unmodifiable map that keeps the given iteration order; null becomes an empty map
 */
public record Document(String id, String title, String text, Map<String, String> metadata) {

  /**
   * Checks and normalises the components.
   *
   * @throws NullPointerException     if {@code id} or {@code text} is null, or {@code metadata} holds a
   *                                  null key or value
   * @throws IllegalArgumentException if {@code id} is blank
   */
  public Document {
    Checks.id(id, "id");
    title = title == null ? "" : title;
    Objects.requireNonNull(text, "text must not be null");
    if (metadata == null || metadata.isEmpty()) {
      metadata = Map.of();
    } else {
      Map<String, String> copy = new LinkedHashMap<>();
      metadata.forEach((key, value) -> {
        if (key == null || value == null) {
          throw new NullPointerException(
              "metadata must not hold null keys or values, got: " + key + "=" + value);
        }
        copy.put(key, value);
      });
      metadata = Collections.unmodifiableMap(copy);
    }
  }

  /**
   * Creates a document without title or metadata.
   *
   * @param id   unique key; not null, not blank
   * @param text the text; not null
   * @return a document with an empty title and no metadata
   * @throws NullPointerException     if {@code id} or {@code text} is null
   * @throws IllegalArgumentException if {@code id} is blank
   */
  public static Document of(String id, String text) {
    return new Document(id, "", text, Map.of());
  }
}
