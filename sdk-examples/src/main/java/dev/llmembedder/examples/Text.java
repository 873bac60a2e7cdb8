package dev.llmembedder.examples;

/** Shortening text for the console. */
final class Text {
  private Text() {}

  /** {@code text} on one line (whitespace runs collapsed), cut to {@code max} characters with "...". */
  static String abbreviate(String text, int max) {
    String line = text.strip().replaceAll("\\s+", " ");
    return line.length() <= max ? line : line.substring(0, max - 3) + "...";
  }
}
