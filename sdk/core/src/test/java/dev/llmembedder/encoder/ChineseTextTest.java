package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ModelFamily.PEG and Chinese text through the tokenizer, the chunker and a memory.
 *
 * <p>Tokenizer: PEG's own is bert-base-chinese's WordPiece, which is not available here, so these tests use the
 * embedded bge-small-en-v1.5 (int8) {@code tokenizer.json}: also a BERT WordPiece whose normalizer puts every CJK
 * character in a word of its own ({@code handle_chinese_chars}), as bert-base-chinese's does, so each character is one
 * token. About half the characters below are {@code [UNK]} in its English vocabulary; each is still one token with its
 * own character span, which is all chunking needs (and why the retrieval scores here mean nothing). The PEG model
 * directory is the embedded bge int8 graph and tokenizer copied into Optimum's layout: what is tested is that the
 * family loads and embeds the way PEG's model card does (CLS, no instruction), not PEG's weights.
 */
class ChineseTextTest {
  /** Real sentences (the Great Wall, West Lake, giant pandas, Java services, the Yellow River, the Spring Festival). */
  private static final List<String> SENTENCES = List.of(
      "长城是中国古代的军事防御工程，总长度超过两万千米。",
      "西湖位于浙江省杭州市，是中国著名的风景名胜区。",
      "大熊猫主要生活在四川、陕西和甘肃的山区，以竹子为食。",
      "许多公司使用 Java 编写后端服务，因为它运行在虚拟机上。",
      "黄河是中国第二长河，被称为中华民族的母亲河。",
      "春节是农历新年，家人通常会团聚在一起吃年夜饭。");
  private static final String TEXT = String.join("", SENTENCES);
  /** A Latin word in the text: one WordPiece token ("java") of the bge tokenizer. */
  private static final String LATIN = "Java";

  private static final Encoder encoder = SharedEncoders.int8();

  private static boolean isHan(int codePoint) {
    return Character.UnicodeScript.of(codePoint) == Character.UnicodeScript.HAN;
  }

  /** Tokens of a chunk, special tokens not counted. */
  private static int tokens(String chunk) {
    return chunk.isBlank() ? 0 : encoder.countTokens(chunk) - 2;
  }

  @Test
  void chineseTextIsChunkedLosslesslyByTokensNotCharacters() {
    int total = tokens(TEXT);
    long han = TEXT.codePoints().filter(ChineseTextTest::isHan).count();
    // every character is a token, the 4-letter word one token, and the two spaces none
    assertEquals(TEXT.length() - LATIN.length() + 1 - 2, total);
    int latinAt = TEXT.indexOf(LATIN);
    for (int n : new int[] {1, 2, 3, 8, 16, 128}) {
      List<String> chunks = encoder.chunk(TEXT, n);
      assertEquals(TEXT, String.join("", chunks), n + "-token chunks must concatenate to the text");
      assertEquals((total + n - 1) / n, chunks.size(), "one chunk per " + n + " tokens (not characters)");
      int at = 0;
      for (int i = 0; i < chunks.size(); i++) {
        String chunk = chunks.get(i);
        int t = tokens(chunk);
        assertTrue(t >= 1 && t <= n, n + "-token chunk " + i + " '" + chunk + "' has " + t + " tokens");
        if (i < chunks.size() - 1) {
          assertEquals(n, t, "every chunk but the last is full");
        }
        assertFalse(at > latinAt && at < latinAt + LATIN.length(), n + "-token chunk " + i + " '" + chunk
            + "' starts inside the word " + LATIN);
        at += chunk.length();
      }
      if (n == 1) { // one token per chunk: one CJK character, one punctuation mark, or the whole Latin word
        for (String chunk : chunks) {
          String token = chunk.strip();
          assertTrue(token.codePointCount(0, token.length()) == 1 || token.equals(LATIN),
              "1-token chunk '" + chunk + "'");
        }
        assertEquals(han, chunks.stream().filter(c -> c.strip().codePoints().anyMatch(ChineseTextTest::isHan))
            .count(), "each CJK character is a chunk of its own");
        assertTrue(chunks.contains(" " + LATIN + " ") || chunks.contains(LATIN + " ") || chunks.contains(" " + LATIN),
            "the Latin word is one chunk: " + chunks);
      }
    }
    System.out.printf("Chinese text: %d characters, %d tokens (%d CJK)%n", TEXT.length(), total, han);
  }

  private static Path pegDirectory(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("onnx"));
    for (String[] f : new String[][] {{"bge-small-en-v1.5-q.onnx", "onnx/model.onnx"},
        {"bge-small-en-v1.5-q-tokenizer.json", "tokenizer.json"}}) {
      try (InputStream in = Encoder.class.getClassLoader().getResourceAsStream(f[0])) {
        Files.copy(in, dir.resolve(f[1]));
      }
    }
    return dir;
  }

  @Test
  void pegLoadsFromAModelDirectoryWithClsPoolingAndNoInstruction(@TempDir Path dir) throws IOException {
    try (Encoder peg = Encoder.builder().modelDirectory(pegDirectory(dir), ModelFamily.PEG).build()) {
      assertEquals(Pooling.CLS, peg.pooling());
      assertEquals(InstructionSet.NONE, peg.instructions());
      assertEquals(TextTemplate.NONE, peg.template());
      assertEquals(PaddingSide.RIGHT, peg.paddingSide());
      float[][] plain = encoder.encode(SENTENCES, "", 512); // the same graph's CLS embedding of the bare text
      for (Task task : Task.values()) {
        assertArrayEquals(plain[2], peg.encodeQueries(SENTENCES, task)[2], 1e-6f, "query of " + task);
        assertArrayEquals(plain[2], peg.encodeKeys(SENTENCES, task)[2], 1e-6f, "key of " + task);
      }
    }
  }

  @Test
  void aChineseMemoryInAnLlmEmbedderReturnsSpansOfTheOriginalText(@TempDir Path dir) throws IOException {
    try (LlmEmbedder embedder = LlmEmbedder.builder().modelDirectory(pegDirectory(dir), ModelFamily.PEG).build()) {
      assertEquals(InstructionSet.NONE, embedder.encoder().instructions());
      MemoryRetriever memory = embedder.memory("zh",
          new MemoryRetriever.Settings(MemoryRetriever.Mode.DOCUMENT, 16, 16));
      for (String sentence : SENTENCES) {
        memory.append(sentence); // appends continue the stream: the last partial chunk grows
      }
      List<String> chunks = memory.chunks();
      assertEquals(TEXT, String.join("", chunks));
      assertEquals((tokens(TEXT) + 15) / 16, chunks.size());
      List<MemorySpan> spans = memory.retrieve("大熊猫吃什么？", 2);
      assertFalse(spans.isEmpty());
      for (MemorySpan span : spans) {
        int offset = String.join("", chunks.subList(0, span.firstChunk())).length();
        assertTrue(TEXT.startsWith(span.text(), offset), "span " + span + " is not the text at offset " + offset);
        assertEquals(String.join("", chunks.subList(span.firstChunk(), span.lastChunk() + 1)), span.text());
        assertTrue(span.lastChunk() < chunks.size() - 1, "the last chunk is the recent window: " + span);
      }
    }
  }
}
