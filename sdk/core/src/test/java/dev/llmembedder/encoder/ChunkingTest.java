package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.testing.SharedData;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Token chunking of long texts: lossless, bounded in tokens, any script. */
class ChunkingTest {
  private static final Encoder encoder = SharedEncoders.int8();


  private static void assertLosslessAndBounded(String text, int n) {
    List<String> chunks = encoder.chunk(text, n);
    assertEquals(text, String.join("", chunks), "chunks must concatenate to the input");
    for (int i = 0; i < chunks.size(); i++) {
      assertFalse(chunks.get(i).isEmpty() && !text.isEmpty(), "chunk " + i + " is empty");
      // re-tokenizing a chunk may split its first word differently (no '##' continuation): allow one token of slack
      int tokens = encoder.countTokens(chunks.get(i).isBlank() ? "" : chunks.get(i)) - 2;
      assertTrue(tokens <= n + 1, "chunk " + i + " has " + tokens + " tokens > " + n);
    }
  }

  @Test
  void aWholeNovelIsChunkedLosslessly() throws IOException {
    // the file is Windows-1252 (curly quotes 0x93/0x94), not the UTF-8 its SOURCE.md says
    String book = Files.readString(SharedData.require("data/books/pride-and-prejudice.txt"),
        Charset.forName("windows-1252"));
    List<String> chunks = encoder.chunk(book, 128);
    assertEquals(book, String.join("", chunks));
    int total = encoder.countTokens(book) - 2;
    assertEquals((total + 127) / 128, chunks.size(), "one chunk per 128 tokens");
    System.out.printf("pride-and-prejudice: %d tokens, %d chunks of 128%n", total, chunks.size());
    assertLosslessAndBounded(book.substring(0, 20_000), 128);
  }

  @Test
  void otherScriptsEmojiAndEdgeCasesStayLossless() {
    assertLosslessAndBounded("Emoji 😀👍🏽 and CJK 日本語のテキストです。Ünïcödé, RTL שלום עולם, tabs\tand\nnewlines  ", 3);
    assertLosslessAndBounded("   leading and trailing whitespace   ", 2);
    assertEquals(List.of(""), encoder.chunk("", 128));
    assertEquals(List.of("short"), encoder.chunk("short", 128));
    var e = assertThrows(IllegalArgumentException.class, () -> encoder.chunk("x", 0));
    assertTrue(e.getMessage().contains("0"), e.getMessage());
  }
}
