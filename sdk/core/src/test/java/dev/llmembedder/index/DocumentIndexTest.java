package dev.llmembedder.index;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DocumentIndexTest {
  private static final int DIMENSION = 32;

  @TempDir
  Path directory;

  private static Document document(int i) {
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("lang", i % 3 == 0 ? "ja" : "en");
    metadata.put("source", "file-" + i + ".md");
    String text = i % 3 == 0
        ? "第" + i + "章: 東京の天気は晴れ ☀️ — \"quoted\"\nsecond line\ttab \\ backslash \u2028 sep"
        : "Chapter " + i + ": the weather in Paris is grey 🌧️, naïve café";
    return new Document("doc-" + i, i % 2 == 0 ? null : "Title " + i + " – ünïcødé", text, metadata);
  }

  private static DocumentIndex filledIndex(VectorIndex.Builder settings, SyntheticEmbeddings data, int count) {
    DocumentIndex index = DocumentIndex.create(settings);
    List<Document> documents = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      documents.add(document(i));
    }
    index.addAll(documents, data.next(count));
    return index;
  }

  private static List<List<DocumentHit>> results(DocumentIndex index, float[][] queries) {
    List<List<DocumentHit>> results = new ArrayList<>();
    for (float[] query : queries) {
      results.add(index.search(query, 8));
      results.add(index.search(query, 4, d -> "ja".equals(d.metadata().get("lang"))));
    }
    return results;
  }

  @Test
  void roundTripKeepsDocumentsMetadataUnicodeAndResults() throws IOException {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 8, 0.05f, 21);
    float[][] queries = data.next(10);
    VectorIndex.Builder settings = VectorIndex.builder(DIMENSION).searchMode(SearchMode.GRAPH).maxDegree(16);
    try (DocumentIndex index = filledIndex(settings, data, 600)) {
      index.delete("doc-5");
      index.add(new Document("doc-7", "replaced", "new text 🆕", Map.of("lang", "fr")), data.next());
      List<List<DocumentHit>> before = results(index, queries);
      index.save(directory);
      assertTrue(Files.exists(directory.resolve("documents-1.jsonl")));
      assertTrue(Files.exists(directory.resolve("graph-1.bin")));

      try (DocumentIndex opened = DocumentIndex.open(directory)) {
        assertEquals(599, opened.size());
        assertEquals(DIMENSION, opened.dimension());
        assertNull(opened.get("doc-5"));
        assertEquals(document(3), opened.get("doc-3"));
        assertEquals(document(4), opened.get("doc-4"));
        assertEquals("", opened.get("doc-4").title());
        assertEquals(List.of("lang", "source"), List.copyOf(opened.get("doc-3").metadata().keySet()));
        assertEquals("replaced", opened.get("doc-7").title());
        assertEquals(before, results(opened, queries));
      }
    }
  }

  @Test
  void filterSeesWholeDocumentsAndReturnsKMatches() {
    SyntheticEmbeddings data = new SyntheticEmbeddings(DIMENSION, 8, 0.05f, 22);
    try (DocumentIndex index = filledIndex(VectorIndex.builder(DIMENSION), data, 300)) {
      List<DocumentHit> hits = index.search(data.next(), 10, d -> d.text().contains("東京"));
      assertEquals(10, hits.size());
      assertTrue(hits.stream().allMatch(h -> "ja".equals(h.document().metadata().get("lang"))));
      for (int i = 1; i < hits.size(); i++) {
        assertTrue(hits.get(i - 1).score() >= hits.get(i).score());
      }
    }
  }

  @Test
  void upsertDeleteAndSize() {
    try (DocumentIndex index = DocumentIndex.create(2)) {
      index.add(Document.of("a", "first"), new float[] {1, 0});
      index.add(Document.of("b", "second"), new float[] {0, 1});
      index.add(Document.of("a", "first, edited"), new float[] {0.6f, 0.8f});
      assertEquals(2, index.size());
      assertEquals("first, edited", index.get("a").text());
      DocumentHit top = index.search(new float[] {0.6f, 0.8f}, 1).get(0);
      assertEquals("a", top.document().id());
      assertEquals(1f, top.score(), 1e-6f);
      assertTrue(index.delete("a"));
      assertFalse(index.delete("a"));
      assertEquals(1, index.size());
      assertEquals(List.of("b"), index.search(new float[] {1, 0}, 5).stream()
          .map(h -> h.document().id()).toList());
    }
  }

  @Test
  void rejectedBatchAddsNothing() {
    try (DocumentIndex index = DocumentIndex.create(2)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> index.addAll(
          List.of(Document.of("a", "x"), Document.of("b", "y")), new float[][] {{1, 0}, {0, Float.NaN}}));
      assertTrue(e.getMessage().contains("embeddings[1][1] is NaN"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> index.addAll(
          List.of(Document.of("a", "x"), Document.of("a", "y")), new float[2][2]));
      assertTrue(e.getMessage().contains("\"a\"") && e.getMessage().contains("documents[1]"), e.getMessage());
      assertEquals(0, index.size());
    }
  }

  @Test
  void documentChecksAndNormalises() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Document.of("  ", "t"));
    assertTrue(e.getMessage().contains("\"  \""), e.getMessage());
    assertThrows(NullPointerException.class, () -> Document.of(null, "t"));
    assertThrows(NullPointerException.class, () -> Document.of("a", null));
    Map<String, String> withNull = new HashMap<>();
    withNull.put("k", null);
    NullPointerException npe = assertThrows(NullPointerException.class,
        () -> new Document("a", "", "t", withNull));
    assertTrue(npe.getMessage().contains("k=null"), npe.getMessage());

    Document d = new Document("a", null, "t", null);
    assertEquals("", d.title());
    assertEquals(Map.of(), d.metadata());

    Map<String, String> source = new HashMap<>(Map.of("k", "v"));
    Document copy = new Document("a", "", "t", source);
    source.put("k", "changed");
    assertEquals("v", copy.metadata().get("k"));
    assertThrows(UnsupportedOperationException.class, () -> copy.metadata().put("x", "y"));
  }

  @Test
  void corruptDocumentsFileIsDetected() throws IOException {
    try (DocumentIndex index = filledIndex(VectorIndex.builder(DIMENSION),
        new SyntheticEmbeddings(DIMENSION, 8, 0.05f, 23), 50)) {
      index.save(directory);
    }
    Path file = directory.resolve("documents-1.jsonl");
    byte[] bytes = Files.readAllBytes(file);
    bytes[10] ^= 0x01;
    Files.write(file, bytes);
    CorruptIndexException e = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(directory));
    assertTrue(e.getMessage().contains("documents-1.jsonl"), e.getMessage());
  }

  @Test
  void vectorIndexDirectoryIsNotADocumentIndex() throws IOException {
    try (VectorIndex index = VectorIndex.builder(2).build()) {
      index.save(directory);
    }
    IOException e = assertThrows(IOException.class, () -> DocumentIndex.open(directory));
    assertTrue(e.getMessage().contains("vector-index"), e.getMessage());
  }

  @Test
  void methodsThrowAfterClose() {
    DocumentIndex index = DocumentIndex.create(2);
    index.close();
    index.close();
    assertThrows(IllegalStateException.class, () -> index.add(Document.of("a", "t"), new float[] {1, 0}));
    assertThrows(IllegalStateException.class, () -> index.search(new float[] {1, 0}, 1));
    assertThrows(IllegalStateException.class, () -> index.get("a"));
    assertThrows(IllegalStateException.class, index::size);
  }
}
