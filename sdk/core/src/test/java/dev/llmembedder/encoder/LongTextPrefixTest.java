package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Texts far over the token limit are tokenized from a prefix ({@link TokenizerModel#encode}); the truncated tokens
 * must be exactly those of tokenizing the whole text, for every kind of text, including those that fall back.
 */
class LongTextPrefixTest {
  private static TokenizerModel tokenizer;

  @BeforeAll
  static void load() throws IOException {
    try (InputStream in = Encoder.class.getClassLoader().getResourceAsStream("bge-small-en-v1.5-q-tokenizer.json")) {
      tokenizer = TokenizerModel.load(in.readAllBytes(), "bge-small-en-v1.5-q-tokenizer.json");
    }
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  @Test
  void prefixTokenizationEqualsWholeTextTokenization() {
    String english = "Glaciers carve valleys as they slowly move downhill under their own weight. ";
    List<String> texts = List.of(
        english.repeat(2_000),
        "word\n\n\t  ".repeat(10_000) + "tail",
        "日本語のテキストです。".repeat(5_000), // no whitespace: falls back to the whole text
        "Emoji 😀👍🏽 family 👨‍👩‍👧 ".repeat(3_000),
        "x".repeat(20_000) + " short words after one very long one ".repeat(500),
        " ".repeat(30_000) + "only a few words at the end", // the prefix has too few tokens: falls back
        "a\u001Cb ".repeat(10_000),
        "Ünïcödé ÀÉÎ naïve café ".repeat(2_000));
    for (int limit : new int[] {512, 16}) {
      for (String text : texts) {
        TokenizerModel.Tokens cut = tokenizer.encode(List.of(text), limit)[0];
        long[] whole = tokenizer.encode(List.of(text), Integer.MAX_VALUE / 64)[0].ids();
        long[] expected = whole.length <= limit ? whole : concat(Arrays.copyOf(whole, limit - 1), whole[whole.length - 1]);
        assertArrayEquals(expected, cut.ids(), text.substring(0, 40) + "... at limit " + limit);
        assertEquals(whole.length > limit, cut.truncated());
      }
    }
  }

  @Test
  void theCutIsAtTheStartOfAWhitespaceRun() {
    assertEquals("abc", TokenizerModel.headBeforeWhitespace("abc   def ghi", 5));
    assertEquals("abc def", TokenizerModel.headBeforeWhitespace("abc def ghi", 8));
    assertEquals("abcdefghij", TokenizerModel.headBeforeWhitespace("abcdefghij", 8), "no whitespace: whole text");
    assertEquals("a b", TokenizerModel.headBeforeWhitespace("a b", 100));
  }

  private static long[] concat(long[] head, long last) {
    long[] out = Arrays.copyOf(head, head.length + 1);
    out[head.length] = last;
    return out;
  }
}
