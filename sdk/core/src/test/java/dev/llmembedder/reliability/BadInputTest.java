package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.Demonstration;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rows of the bad-input table in {@code docs/RELIABILITY.md} that no other test covers, through the facade with a
 * storage directory: each bad or extreme input gets a clear answer (stored as given, or an exception naming the
 * value), and what was stored and committed before it is neither lost nor changed, in memory or after reopening.
 */
class BadInputTest {
  private static final Encoder encoder = SharedEncoders.int8();
  private static final String QUESTION = "Which drink is made from ground coffee beans?";

  @TempDir
  Path tmp;
  private Path store;
  private LlmEmbedder embedder;
  private String before;

  @BeforeEach
  void storeSomething() {
    store = tmp.resolve("store");
    embedder = open();
    embedder.knowledge().addAll(List.of(
        Document.of("p1", "Espresso is brewed by forcing hot water through finely ground coffee."),
        Document.of("p2", "The Treaty of Westphalia ended the Thirty Years' War in 1648."),
        Document.of("p3", "TCP retransmits lost segments and delivers bytes in order.")));
    embedder.memory("chat", Mode.CONVERSATION).append("Speaker 1: I drink espresso every morning.");
    embedder.tools().add(Tool.of("order_coffee", "order_coffee", "Order a coffee drink", null));
    embedder.examples().addAll(List.of(new Demonstration("e1", "qa", "", "Which drink comes from tea leaves?", "Tea")));
    embedder.commit();
    before = signature(embedder);
  }

  @AfterEach
  void nothingStoredBeforeIsLostOrChanged() {
    if (embedder == null) {
      return; // the test checked this itself
    }
    assertEquals(before, signature(embedder), "in memory");
    embedder.close();
    try (LlmEmbedder reopened = open()) {
      assertEquals(before, signature(reopened), "after reopening");
    }
  }

  private LlmEmbedder open() {
    return LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build();
  }

  /** Sizes, the seed passages and the results of a fixed context: what a rejected input must leave alone. */
  private static String signature(LlmEmbedder e) {
    StringBuilder s = new StringBuilder();
    for (String id : List.of("p1", "p2", "p3")) {
      s.append(e.knowledge().get(id)).append('\n');
    }
    s.append(e.memory("chat").chunks()).append('\n').append(e.tools().get("order_coffee")).append('\n');
    var context = e.context(QUESTION).knowledge(3).memory("chat", 1).examples(1).tools(1).build();
    for (DocumentHit hit : context.knowledge()) {
      s.append(hit.document().id()).append('=').append(hit.score()).append(' ');
    }
    return s.append(context.render()).toString();
  }

  /** Adds a passage, commits, and checks it reads back unchanged after reopening; then removes it again. */
  private void roundTrips(String id, String text) {
    embedder.knowledge().add(Document.of(id, text));
    List<DocumentHit> hits = embedder.knowledge().retrieve(text, 10);
    embedder.close();
    embedder = open();
    assertEquals(text, embedder.knowledge().get(id).text(), "text survives commit and reopening unchanged");
    assertEquals(hits, embedder.knowledge().retrieve(text, 10), "same results after reopening");
    assertTrue(hits.stream().anyMatch(h -> h.document().id().equals(id)), id + " is found by its own text");
    assertTrue(embedder.knowledge().delete(id));
    embedder.commit();
  }

  // ------------------------------------------------------------------------------------------------------- texts

  @Test
  void emptyAndWhitespaceTextsAreRejectedNamingTheProblem() {
    // empty, ASCII and Unicode spaces (no-break, em), NUL, zero-width joiner and byte-order mark: nothing to embed
    for (String blank : List.of("", " ", "\t\n  \r", "\u00a0\u2003", "\u0000", "\u200d\ufeff")) {
      var e = assertThrows(IllegalArgumentException.class,
          () -> embedder.knowledge().add(Document.of("blank", blank)));
      assertTrue(e.getMessage().contains("blank") && e.getMessage().contains("no text to embed"), e.getMessage());
      assertNull(embedder.knowledge().get("blank"));
    }
    var turn = assertThrows(IllegalArgumentException.class, () -> embedder.memory("chat").append(" \u00a0\n "));
    assertTrue(turn.getMessage().contains("whitespace"), turn.getMessage());
    var tool = assertThrows(IllegalArgumentException.class,
        () -> embedder.tools().add(new Tool("t", " ", " ", List.of(), null)));
    assertTrue(tool.getMessage().contains("t"), tool.getMessage());
  }

  @Test
  void aTenMegabyteTextIsStoredWholeAndEmbeddedFromItsFirst512Tokens() {
    String sentence = "Glaciers carve valleys as they slowly move downhill under their own weight. ";
    String huge = sentence.repeat(10_000_000 / sentence.length() + 1);
    assertTrue(huge.length() >= 10_000_000);
    // the caller can know the text is truncated: more tokens than the model reads (counting a prefix suffices;
    // countTokens tokenizes all it is given, 17 s for these 10 MB)
    int tokens = encoder.countTokens(huge.substring(0, 100_000));
    assertTrue(tokens > encoder.maxTokens(), tokens + " tokens");
    long start = System.nanoTime();
    embedder.knowledge().add(Document.of("huge", huge));
    System.out.printf("bad input: a 10 MB passage added (tokenized from a prefix) in %.2f s%n",
        (System.nanoTime() - start) / 1e9);
    float[] truncated = embedder.encoder().encodeKeys(List.of(huge.substring(0, 20_000)),
        dev.llmembedder.encoder.Task.QA)[0];
    List<DocumentHit> hits = embedder.knowledge().search(truncated, 1);
    assertEquals("huge", hits.get(0).document().id());
    assertEquals(1f, hits.get(0).score(), 1e-3f, "the same embedding as its first 20,000 characters");
    embedder.close();
    embedder = open();
    assertEquals(huge, embedder.knowledge().get("huge").text());
    assertTrue(embedder.knowledge().delete("huge"));
    embedder.commit();
  }

  @Test
  void unpairedSurrogatesAreStoredAndSurviveCommit() {
    roundTrips("lone-high", "A broken emoji \uD83D at the end of a sentence about coffee.");
    roundTrips("lone-low", "\uDE00 starts this sentence about tea.");
    roundTrips("reversed", "Reversed pair \uDE00\uD83D in the middle of a sentence.");
  }

  @Test
  void nulAndControlCharactersAreStoredAsGiven() {
    roundTrips("nul", "Before NUL\u0000after NUL, a bell\u0007, an escape\u001b[31m and a DEL\u007f.");
    roundTrips("bom", "\uFEFFA text with a byte-order mark and a zero-width joiner \u200d inside.");
  }

  @Test
  void emojiAndRightToLeftScriptsAreStoredAndFound() {
    roundTrips("emoji", "Coffee ☕ and croissants 🥐 for breakfast 👍🏽, family 👨‍👩‍👧.");
    roundTrips("hebrew", "שלום עולם, הקפה הזה חזק מאוד");
    roundTrips("arabic", "القهوة العربية تقدم مع التمر");
    roundTrips("mixed", "Order \u202Eeeffoc\u202C now: ما هو الطقس اليوم in Paris?");
  }

  @Test
  void idsThatLookLikePathsAreJustIds() throws IOException {
    roundTrips("../../escape", "An id with dot-dot segments names no file.");
    roundTrips("/etc/passwd", "An absolute path as an id names no file either.");
    try (Stream<Path> files = Files.walk(tmp)) {
      assertTrue(files.allMatch(f -> f.startsWith(store) || f.equals(tmp)), "nothing written outside the store");
    }
  }

  // --------------------------------------------------------------------------------------------- k, vectors, ids

  @Test
  void kLargerThanTheCollectionReturnsAllOfItAndKBelowOneIsRejected() {
    assertEquals(3, embedder.knowledge().retrieve(QUESTION, 1000).size());
    assertEquals(1, embedder.tools().retrieve(QUESTION, Integer.MAX_VALUE).size());
    for (int k : List.of(0, -1, Integer.MIN_VALUE)) {
      var e = assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().retrieve(QUESTION, k));
      assertTrue(e.getMessage().contains(Integer.toString(k)), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> embedder.examples().retrieve(QUESTION, k));
      assertThrows(IllegalArgumentException.class, () -> embedder.memory("chat").retrieve(QUESTION, k));
    }
  }

  @Test
  void nanInfiniteHugeAndWrongDimensionQueryVectorsAreRejected() {
    float[] nan = new float[encoder.dimension()];
    nan[7] = Float.NaN;
    var e = assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().search(nan, 3));
    assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("[7]"), e.getMessage());
    float[] inf = new float[encoder.dimension()];
    inf[0] = Float.POSITIVE_INFINITY;
    assertThrows(IllegalArgumentException.class, () -> embedder.tools().search(inf, 3));
    float[] huge = new float[encoder.dimension()];
    Arrays.fill(huge, 3e37f); // finite, but its dot products overflow to infinity
    var norm = assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().search(huge, 3));
    assertTrue(norm.getMessage().contains("L2 norm"), norm.getMessage());
    var dim = assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().search(new float[383], 3));
    assertTrue(dim.getMessage().contains("383") && dim.getMessage().contains("384"), dim.getMessage());
    assertThrows(IllegalArgumentException.class, () -> embedder.memory("chat").search(new float[385], 1));
  }

  @Test
  void anIdRepeatedInOneCallRejectsTheWholeCall() {
    var e = assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().addAll(List.of(
        Document.of("new1", "A new passage."), Document.of("new2", "Another one."), Document.of("new1", "Again."))));
    assertTrue(e.getMessage().contains("new1"), e.getMessage());
    assertNull(embedder.knowledge().get("new1"));
    assertNull(embedder.knowledge().get("new2"));
    var tools = assertThrows(IllegalArgumentException.class, () -> embedder.tools().addAll(List.of(
        Tool.of("x", "x", "A tool", null), Tool.of("x", "x", "The same id", null))));
    assertTrue(tools.getMessage().contains("x"), tools.getMessage());
    assertNull(embedder.tools().get("x"));
  }

  @Test
  void anIdAddedAgainReplacesThePassage() {
    embedder.knowledge().add(Document.of("p9", "First version about volcanoes."));
    embedder.knowledge().add(Document.of("p9", "Second version about glaciers."));
    assertEquals("Second version about glaciers.", embedder.knowledge().get("p9").text());
    assertEquals(4, embedder.knowledge().size());
    assertTrue(embedder.knowledge().delete("p9"));
    assertFalse(embedder.knowledge().delete("p9"), "a second delete finds nothing");
  }

  // ------------------------------------------------------------------------------------------------------ files

  @Test
  void malformedDemonstrationLinesNameFileLineAndField() throws IOException {
    Path file = Files.writeString(tmp.resolve("demos.jsonl"),
        "{\"input\": \"2+2\", \"output\": \"4\"}\n\n{\"input\": \"3+3\"}\n");
    var missing = assertThrows(IOException.class, () -> ExampleRetriever.readJsonl(file));
    assertTrue(missing.getMessage().contains("demos.jsonl:3") && missing.getMessage().contains("'output'"),
        missing.getMessage());
    Files.writeString(file, "{\"input\": \"2+2\", \"output\": \"4\"}\n{\"input\": \"3+3\", \"output\": 6\n");
    var broken = assertThrows(IOException.class, () -> ExampleRetriever.readJsonl(file));
    assertTrue(broken.getMessage().contains("demos.jsonl:2") && broken.getMessage().contains("not valid JSON"),
        broken.getMessage());
    Files.writeString(file, "[1, 2]\n");
    var array = assertThrows(IOException.class, () -> ExampleRetriever.readJsonl(file));
    assertTrue(array.getMessage().contains("demos.jsonl:1") && array.getMessage().contains("ARRAY"),
        array.getMessage());
  }

  @Test
  void aStorageDirectoryThatCannotBeCreatedOrWrittenIsNamed() throws IOException {
    Path file = Files.writeString(tmp.resolve("a-file"), "not a directory");
    for (Path bad : List.of(file, file.resolve("sub"))) {
      var e = assertThrows(UncheckedIOException.class,
          () -> LlmEmbedder.builder().encoder(encoder).storageDirectory(bad).build());
      assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
    }
  }

  @Test
  void aCommitThatFailsInCloseStillReleasesTheStorageDirectory() throws IOException {
    embedder.knowledge().add(Document.of("p4", "A passage whose commit cannot be written."));
    Path knowledge = store.resolve("knowledge");
    // the collection's directory replaced by a file, so the commit in close() cannot write (permissions would not
    // stop a test run as root)
    try (Stream<Path> files = Files.walk(knowledge)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
    Files.writeString(knowledge, "not a directory");
    var e = assertThrows(UncheckedIOException.class, embedder::close);
    assertTrue(e.getMessage().contains(knowledge.toString()), e.getMessage());
    assertThrows(IllegalStateException.class, () -> embedder.knowledge().get("p1"), "closed despite the failure");
    try (FileChannel channel = FileChannel.open(store.resolve("embedder.lock"), StandardOpenOption.WRITE)) {
      assertNotNull(channel.tryLock(), "the storage directory's lock is still held after close() threw");
    }
    embedder = null;
  }

  @Test
  void aCorruptedStoreFileIsDetectedByChecksumAndNamed() throws IOException {
    embedder.close();
    Path documents;
    try (Stream<Path> files = Files.list(store.resolve("knowledge"))) {
      documents = files.filter(f -> f.getFileName().toString().startsWith("documents-")).findFirst().orElseThrow();
    }
    byte[] original = Files.readAllBytes(documents);
    byte[] flipped = original.clone();
    flipped[flipped.length / 2] ^= 0x04;
    Files.write(documents, flipped);
    var e = assertThrows(UncheckedIOException.class, this::open);
    assertTrue(e.getMessage().contains(documents.toString()) && e.getMessage().contains("CRC32C"), e.getMessage());
    Files.write(documents, original); // repaired by hand: opens again, with nothing lost
    embedder = open();
  }

  @Test
  void aCorruptedStorageManifestIsNamed() throws IOException {
    embedder.close();
    Path manifest = store.resolve("embedder.json");
    String original = Files.readString(manifest);
    Files.writeString(manifest, original.substring(0, original.length() / 2));
    var e = assertThrows(UncheckedIOException.class, this::open);
    assertTrue(e.getMessage().contains(manifest.toString()), e.getMessage());
    Files.writeString(manifest, original);
    embedder = open();
  }

  @Test
  void aTruncatedMemoryIndexFileIsNamed() throws IOException {
    embedder.close();
    Path vectors;
    try (Stream<Path> files = Files.list(store.resolve("memories/chat"))) {
      vectors = files.filter(f -> f.getFileName().toString().startsWith("vectors-")).findFirst().orElseThrow();
    }
    byte[] original = Files.readAllBytes(vectors);
    Files.write(vectors, java.util.Arrays.copyOf(original, original.length - 3));
    // the store opens (memories open on first use), the damaged memory is refused by name
    try (LlmEmbedder damaged = open()) {
      assertEquals(3, damaged.knowledge().size());
      var e = assertThrows(UncheckedIOException.class, () -> damaged.memory("chat"));
      assertTrue(e.getMessage().contains(vectors.toString()) && e.getMessage().contains("size"), e.getMessage());
      Files.write(vectors, original);
    }
    embedder = open();
  }

  @Test
  void memoryNamesThatCouldEscapeTheStoreAreRejected() throws IOException {
    List<String> bad = new ArrayList<>(List.of("..", ".", "../x", "a/b", "a\\b", "/abs", "C:x", "x\u0000y", "-dash",
        ".hidden", "a".repeat(65), "naïve", "new\nline"));
    for (String name : bad) {
      var e = assertThrows(IllegalArgumentException.class, () -> embedder.memory(name));
      assertTrue(e.getMessage().contains("not allowed"), e.getMessage());
    }
    try (Stream<Path> dirs = Files.list(store.resolve("memories"))) {
      assertEquals(List.of(store.resolve("memories/chat")), dirs.toList());
    }
  }

  @Test
  void aClosedEmbedderRefusesWorkClearly() {
    LlmEmbedder closed = embedder;
    closed.close();
    embedder = null;
    var commit = assertThrows(IllegalStateException.class, closed::commit);
    assertTrue(commit.getMessage().contains("closed"), commit.getMessage());
    assertThrows(IllegalStateException.class, () -> closed.knowledge().add(Document.of("late", "Too late.")));
    assertThrows(IllegalStateException.class, () -> closed.knowledge().retrieve(QUESTION, 1));
    closed.close(); // idempotent
    try (LlmEmbedder reopened = open()) {
      assertEquals(before, signature(reopened));
    }
  }

  @Test
  void nullArgumentsAreRejectedWithTheirName() {
    var e = assertThrows(NullPointerException.class, () -> Document.of("x", null));
    assertTrue(e.getMessage().contains("text"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> embedder.knowledge().retrieve(null, 1));
    assertThrows(IllegalArgumentException.class, () -> embedder.memory("chat").append(null));
    assertThrows(IllegalArgumentException.class, () -> embedder.context(null));
    assertNotNull(embedder.knowledge().get("p1"));
  }
}
