package dev.llmembedder.retriever;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.testing.SharedData;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Memory retrieval on a real novel and LLM-Embedder's own conversation rows. */
class MemoryRetrieverTest {
  private static final Encoder encoder = SharedEncoders.int8();


  private static MemoryRetriever memory(Mode mode, int chunkTokens, int recentTokens) {
    return new MemoryRetriever(encoder, DocumentIndex.create(encoder.dimension()), "m",
        new MemoryRetriever.Settings(mode, chunkTokens, recentTokens));
  }

  /** Spans are in stream order, disjoint and not adjacent, outside the recent window, and each hit brought i+1. */
  private static void assertWellFormed(MemoryRetriever memory, List<MemorySpan> spans) {
    List<String> chunks = memory.chunks();
    int recentStart = memory.recentStart();
    int previousEnd = -2;
    for (MemorySpan s : spans) {
      assertTrue(s.firstChunk() > previousEnd + 1, "spans must be ordered, disjoint and merged: " + spans);
      assertTrue(s.lastChunk() < recentStart, "span " + s.firstChunk() + "-" + s.lastChunk()
          + " reaches into the recent window starting at chunk " + recentStart);
      assertTrue(s.lastChunk() > s.firstChunk() || s.lastChunk() == recentStart - 1,
          "a hit must come with its continuation unless that is in the recent window: " + s);
      // a document's chunks concatenate losslessly; a conversation's turns (none ends with a newline here) one a line
      String separator = memory.mode() == Mode.CONVERSATION ? "\n" : "";
      assertEquals(String.join(separator, chunks.subList(s.firstChunk(), s.lastChunk() + 1)), s.text());
      previousEnd = s.lastChunk();
    }
  }

  @Test
  void aNovelAppendedInPiecesIsChunkedLosslesslyAndRetrievedInStreamOrder() throws IOException {
    // the file is Windows-1252 (curly quotes 0x93/0x94), not the UTF-8 its SOURCE.md says
    String book = Files.readString(SharedData.require("data/books/pride-and-prejudice.txt"),
        Charset.forName("windows-1252")).substring(0, 120_000);
    MemoryRetriever memory = memory(Mode.DOCUMENT, 128, 2048);
    for (int at = 0; at < book.length(); at += 10_000) {
      memory.append(book.substring(at, Math.min(book.length(), at + 10_000)));
    }
    List<String> chunks = memory.chunks();
    assertEquals(book, String.join("", chunks), "chunking must be lossless across appends");
    assertTrue(chunks.size() > 100, "chunks: " + chunks.size());
    int recentStart = memory.recentStart();
    assertTrue(recentStart >= chunks.size() - 17 && recentStart < chunks.size() - 14,
        "2,048 recent tokens are about 16 chunks of 128: recent window starts at " + recentStart + " of "
            + chunks.size());

    List<MemorySpan> byLastChunk = memory.retrieve(8);
    assertFalse(byLastChunk.isEmpty());
    assertWellFormed(memory, byLastChunk);

    List<MemorySpan> netherfield = memory.retrieve("Netherfield Park is let at last to a young man of large fortune", 3);
    assertWellFormed(memory, netherfield);
    assertTrue(netherfield.stream().anyMatch(s -> s.text().contains("Netherfield Park is let at last")),
        "chapter 1 has the passage the query paraphrases: " + netherfield);
  }

  @Test
  void conversationTurnsAreChunksAndTheRecentTurnsAreNeverReturned() throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode row = json.readTree(Files.readAllLines(SharedData.require("data/llm_embedder_toy/chat.jsonl")).get(0));
    MemoryRetriever memory = memory(Mode.CONVERSATION, 128, 40);
    for (JsonNode turn : row.get("history")) {
      memory.append(turn.asText());
    }
    assertEquals(row.get("history").size(), memory.chunks().size());
    assertTrue(memory.recentStart() < memory.chunks().size(), "the last turn is always recent");
    List<MemorySpan> spans = memory.retrieve(row.get("query").asText(), 2); // "Are you still in the military?"
    assertWellFormed(memory, spans);
    assertEquals(0, spans.get(0).firstChunk(), "the military turn is the first one: " + spans);
  }

  @Test
  void badInputIsRejected() {
    MemoryRetriever memory = memory(Mode.DOCUMENT, 8, 0);
    assertEquals(List.of(), memory.retrieve(3), "an empty memory has nothing to return");
    memory.append("");
    assertEquals(0, memory.chunks().size());
    var blank = assertThrows(IllegalArgumentException.class, () -> memory.append("   "));
    assertTrue(blank.getMessage().contains("whitespace"), blank.getMessage());
    var k = assertThrows(IllegalArgumentException.class, () -> memory.retrieve("q", 0));
    assertTrue(k.getMessage().contains("0"), k.getMessage());
    memory.append("A short text that spans more than one chunk of eight tokens, surely.");
    assertTrue(memory.chunks().size() >= 2);
    // no recent window: the last chunk itself can be found, and its continuation does not exist
    assertWellFormed(memory, memory.retrieve(5));
  }
}
