package dev.llmembedder.retriever;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.DocumentIndex;

/** Argument checks the retrievers share, so that each bad value gets the same message everywhere. */
final class RetrieverChecks {
  private RetrieverChecks() {}

  /** {@code k}, if at least 1; checked before a query is encoded, so bad input costs no model run. */
  static int topK(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k is " + k + "; must be at least 1");
    }
    return k;
  }

  /** Fails unless {@code index} stores embeddings of {@code encoder}'s dimension. */
  static void sameDimension(Encoder encoder, DocumentIndex index) {
    if (index.dimension() != encoder.dimension()) {
      throw new IllegalArgumentException("index dimension " + index.dimension() + " differs from the encoder's "
          + encoder.dimension() + " (" + encoder.modelName() + ")");
    }
  }

  /**
   * Whether {@code text} holds something to embed: a character that is not whitespace (Java's or Unicode's, such as
   * U+00A0), a control character or an invisible format character (U+200D, U+FEFF). A BERT-like tokenizer makes no
   * token of the others, so a text of only those would be embedded as an empty sequence and match every query alike.
   */
  static boolean hasText(String text) {
    return text.codePoints().anyMatch(c -> !Character.isWhitespace(c) && !Character.isSpaceChar(c)
        && !Character.isISOControl(c) && Character.getType(c) != Character.FORMAT);
  }

  /** A short, printable description of a text without content, for messages: its length and code points. */
  static String describeEmpty(String text) {
    if (text.isEmpty()) {
      return "empty";
    }
    StringBuilder s = new StringBuilder("only whitespace or invisible characters (");
    text.codePoints().limit(8).forEach(c -> s.append(String.format(java.util.Locale.ROOT, "U+%04X ", c)));
    return s.append(text.codePointCount(0, text.length()) > 8 ? "...)" : ")").toString().replace(" )", ")");
  }
}
