package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.ToolEvaluation;
import dev.llmembedder.index.CorruptIndexException;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.index.SearchMode;
import dev.llmembedder.index.VectorIndex;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ToolRetriever;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Property-based fuzzing (jqwik) of every reader of files that come from outside the process: the tool readers (JSON
 * lines, OpenAI JSON, a BEIR tool corpus), the demonstrations reader, the three BEIR files (corpus, queries, qrels),
 * the query adapter file, and a saved {@link DocumentIndex}: its {@code manifest.json}, and its documents, vectors
 * and graph files mutated behind a fixed-up size and CRC32C (so that the parser behind the checksum is reached; the
 * adapter's CRC32C is fixed up likewise three times in four). The trainer's {@code TrainingData.read} has its own
 * fuzz test in {@code sdk/trainer}.
 *
 * <p>Inputs are records of the fields each reader expects, with values of the right type most of the time and of
 * any type otherwise, then often damaged (cut, a character inserted or deleted, an invalid UTF-8 byte); binary files
 * get bytes flipped, ints overwritten with boundary values, cuts and extensions. Only the documented exception may
 * come out, and its message must name the file: {@link IOException} for the text readers and indexes
 * ({@link CorruptIndexException} included), {@link IllegalArgumentException} for the query adapter. Anything else
 * fails the property with the input.
 *
 * <p>Tries per property: 500 in CI ({@code src/test/resources/junit-platform.properties}), or
 * {@code -Djqwik.tries.default=N}; the counts per target are
 * printed at the end ({@code fuzz <target>: ...}).
 */
class FileReaderFuzzTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] FIELDS = {"id", "_id", "name", "description", "api", "parameters", "properties",
      "type", "function", "input", "output", "task", "instruction", "title", "text", "metadata",
      "required_parameters", "optional_parameters", "api_arguments", "formatVersion", "kind", "generation", "config",
      "files", "size", "crc32c", "dimension", "searchMode", "documents", "vectors", "graph"};
  /** Ids the generated records draw on, so that duplicates and references between files happen. */
  private static final String[] IDS = {"q1", "q2", "d1", "d2", "t1", "get_weather", "", " ", "../x", "\u0000"};
  /** Characters inserted by {@link #damage}. */
  private static final String DAMAGE = "{}[]\",:\\\u0000\n\t x1";
  /** Per target: inputs, rejected with the documented exception. */
  private static final Map<String, AtomicLongArray> COUNTS = new ConcurrentSkipListMap<>();
  private static Path scratch;
  private static Path savedIndex;
  private static Map<String, byte[]> savedIndexFiles;
  private static byte[] savedAdapter;
  private static final java.util.Set<String> dirtyIndexFiles = new java.util.HashSet<>();

  @AfterContainer
  static void report() {
    long all = 0;
    for (Map.Entry<String, AtomicLongArray> e : COUNTS.entrySet()) {
      all += e.getValue().get(0);
      System.out.printf("fuzz %s: %d inputs, %d rejected with the documented exception, none with anything else%n",
          e.getKey(), e.getValue().get(0), e.getValue().get(1));
    }
    System.out.printf("fuzz: %d inputs in all, %d targets%n", all, COUNTS.size());
  }

  // -------------------------------------------------------------------------------------------- text readers

  @Provide
  Arbitrary<byte[]> toolLines() {
    return lines(r -> record(r, "id", "s", "name", "s", "description", "s", "api", "j"));
  }

  @Provide
  Arbitrary<byte[]> openAiToolFiles() {
    return Arbitraries.randomValue(r -> {
      StringBuilder s = new StringBuilder();
      if (r.nextBoolean()) {
        s.append(openAiTool(r));
      } else {
        s.append('[');
        for (int i = r.nextInt(4); i > 0; i--) {
          s.append(s.length() > 1 ? ",\n" : "\n").append(r.nextInt(8) == 0 ? value(r, 2, false) : openAiTool(r));
        }
        s.append("]\n");
      }
      return damage(r, s.toString());
    });
  }

  @Provide
  Arbitrary<byte[]> demonstrationLines() {
    return lines(r -> record(r, "id", "s", "task", "s", "instruction", "s", "input", "s", "output", "s"));
  }

  @Provide
  Arbitrary<byte[]> corpusLines() {
    return lines(r -> record(r, "_id", "s", "title", "s", "text", "s", "metadata", "o"));
  }

  @Provide
  Arbitrary<byte[]> queryLines() { // half the time after the two queries the qrels judge, so that loading succeeds
    Arbitrary<byte[]> lines = lines(r -> record(r, "_id", "s", "text", "s", "metadata", "o"));
    byte[] judged = "{\"_id\":\"q1\",\"text\":\"a\"}\n{\"_id\":\"q2\",\"text\":\"b\"}\n"
        .getBytes(StandardCharsets.UTF_8);
    return Arbitraries.oneOf(lines, lines.map(b -> {
      byte[] both = Arrays.copyOf(judged, judged.length + b.length);
      System.arraycopy(b, 0, both, judged.length, b.length);
      return both;
    }));
  }

  @Provide
  Arbitrary<byte[]> toolCorpusLines() {
    return lines(r -> record(r, "_id", "s", "title", "s", "text", "s", "api", "j", "metadata", "j"));
  }

  @Provide
  Arbitrary<byte[]> qrelsFiles() {
    return Arbitraries.randomValue(r -> {
      StringBuilder s = new StringBuilder(r.nextInt(8) == 0 ? "query-id\tcorpus-id" : "query-id\tcorpus-id\tscore");
      for (int i = r.nextInt(5); i >= 0; i--) {
        s.append('\n');
        for (int f = r.nextInt(8) == 0 ? r.nextInt(5) : 3; f > 0; f--) {
          s.append(f == 1 ? List.of("1", "0", "2", "-1", "x", "", " 1", "99999999999", "1.5").get(r.nextInt(9))
              : IDS[r.nextInt(IDS.length)]).append(f > 1 ? "\t" : "");
        }
      }
      return damage(r, s.append(r.nextInt(4) == 0 ? "" : "\n").toString());
    });
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void toolJsonLines(@ForAll("toolLines") byte[] content) throws Exception {
    check("tools-jsonl", content, ToolRetriever::readJsonl);
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void openAiTools(@ForAll("openAiToolFiles") byte[] content) throws Exception {
    check("tools-openai", content, ToolRetriever::readOpenAiTools);
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void beirToolCorpus(@ForAll("toolCorpusLines") byte[] content) throws Exception {
    check("tools-beir-corpus", content, ToolEvaluation::readTools);
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void demonstrations(@ForAll("demonstrationLines") byte[] content) throws Exception {
    check("demonstrations", content, ExampleRetriever::readJsonl);
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void beirCorpus(@ForAll("corpusLines") byte[] content) throws Exception {
    beir("beir-corpus", "corpus.jsonl", content);
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void beirQueries(@ForAll("queryLines") byte[] content) throws Exception {
    beir("beir-queries", "queries.jsonl", content);
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void beirQrels(@ForAll("qrelsFiles") byte[] content) throws Exception {
    beir("beir-qrels", "qrels/test.tsv", content);
  }

  /** A BEIR dataset whose other two files are valid and name every id of {@link #IDS}. */
  static void beir(String target, String fuzzed, byte[] content) throws IOException {
    Path dir = scratch().resolve(target);
    Files.createDirectories(dir.resolve("qrels"));
    StringBuilder corpus = new StringBuilder();
    StringBuilder queries = new StringBuilder();
    StringBuilder qrels = new StringBuilder("query-id\tcorpus-id\tscore\n");
    for (String id : IDS) {
      if (!id.isEmpty()) {
        corpus.append(JSON.writeValueAsString(Map.of("_id", id, "title", "T " + id, "text", "text of " + id)))
            .append('\n');
        queries.append(JSON.writeValueAsString(Map.of("_id", id, "text", "query " + id))).append('\n');
      }
    }
    qrels.append("q1\td1\t1\nq2\td2\t0\n");
    Map<String, String> files = Map.of("corpus.jsonl", corpus.toString(), "queries.jsonl", queries.toString(),
        "qrels/test.tsv", qrels.toString());
    for (Map.Entry<String, String> f : files.entrySet()) {
      Files.write(dir.resolve(f.getKey()), f.getKey().equals(fuzzed) ? content
          : f.getValue().getBytes(StandardCharsets.UTF_8));
    }
    run(target, dir, IOException.class, () -> BeirDataset.load(dir, "test"), () -> show(content));
  }

  // -------------------------------------------------------------------------------------------- query adapter

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs();
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void queryAdapterFile(@ForAll("seeds") long seed) throws Exception {
    Random r = new Random(seed);
    queryAdapter("query-adapter", mutateBinary(r, savedAdapter()), r.nextInt(4) != 0);
  }

  /** Loads {@code bytes} as a query adapter file, with its trailing CRC32C fixed up first if {@code fixCrc}. */
  static void queryAdapter(String target, byte[] bytes, boolean fixCrc) throws IOException {
    if (fixCrc && bytes.length >= 4) { // reach the parser behind the checksum
      CRC32C crc = new CRC32C();
      crc.update(bytes, 0, bytes.length - 4);
      ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
    }
    Path file = scratch().resolve(target + ".bin");
    Files.write(file, bytes);
    run(target, file, IllegalArgumentException.class, () -> QueryAdapter.load(file),
        () -> "bytes " + Arrays.toString(bytes));
  }

  /** Opens the saved index with {@code manifest} as its manifest.json. */
  static void indexManifest(String target, byte[] manifest) throws IOException {
    Path dir = workingIndex();
    Files.write(dir.resolve("manifest.json"), manifest);
    dirtyIndexFiles.add("manifest.json");
    openIndex(target, dir, () -> "manifest " + show(manifest));
  }

  /**
   * Opens the saved index with {@code bytes} as its file of {@code role} ({@code documents}, {@code vectors} or
   * {@code graph}), behind a fixed-up size and CRC32C.
   */
  static void indexFile(String target, String role, byte[] bytes) throws IOException {
    Path dir = workingIndex();
    writeBehindChecksum(dir, role, bytes);
    openIndex(target, dir, () -> role + " " + (role.equals("documents") ? show(bytes) : Arrays.toString(bytes)));
  }

  // -------------------------------------------------------------------------------------------- saved index

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void mutatedIndexManifest(@ForAll("seeds") long seed) throws Exception {
    Random random = new Random(seed);
    workingIndex();
    JsonNode tree = JSON.readTree(savedIndexFiles.get("manifest.json"));
    mutate(random, tree, 1 + random.nextInt(3));
    indexManifest("index-manifest", damage(random, JSON.writeValueAsString(tree)));
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void mutatedDocumentsFileBehindAValidChecksum(@ForAll("seeds") long seed) throws Exception {
    Random random = new Random(seed);
    Path dir = workingIndex();
    String name = fileOfRole("documents");
    List<String> lines = new ArrayList<>(List.of(new String(savedIndexFiles.get(name), StandardCharsets.UTF_8)
        .split("\n")));
    int line = random.nextInt(lines.size());
    if (random.nextBoolean()) {
      JsonNode doc = JSON.readTree(lines.get(line));
      mutate(random, doc, 1 + random.nextInt(2));
      lines.set(line, JSON.writeValueAsString(doc));
    }
    lines.set(line, new String(damage(random, lines.get(line)), StandardCharsets.UTF_8));
    if (random.nextInt(8) == 0) {
      lines.add(random.nextInt(lines.size() + 1), value(random, 2, true));
    }
    byte[] bytes = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
    writeBehindChecksum(dir, "documents", bytes);
    openIndex("index-documents", dir, () -> "documents " + String.join("\n", lines));
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void mutatedVectorsFileBehindAValidChecksum(@ForAll("seeds") long seed) throws Exception {
    Random random = new Random(seed);
    Path dir = workingIndex();
    byte[] bytes = mutateBinary(random, savedIndexFiles.get(fileOfRole("vectors")));
    writeBehindChecksum(dir, "vectors", bytes);
    openIndex("index-vectors", dir, () -> "vectors " + Arrays.toString(bytes));
  }

  @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE)
  void mutatedGraphFileBehindAValidChecksum(@ForAll("seeds") long seed) throws Exception {
    Random random = new Random(seed);
    Path dir = workingIndex();
    byte[] bytes = mutateBinary(random, savedIndexFiles.get(fileOfRole("graph")));
    writeBehindChecksum(dir, "graph", bytes);
    openIndex("index-graph", dir, () -> "graph " + Arrays.toString(bytes));
  }

  // ----------------------------------------------------------------------- regressions: inputs the fuzzing found

  @Example
  void aBlankOpenAiToolNameIsAnIoExceptionNamingTheLine() throws IOException {
    Path file = Files.writeString(Files.createTempFile("fuzz", ".json"), "{\"type\": false, \"name\": \"\"}");
    try {
      IOException e = assertThrows(IOException.class, () -> ToolRetriever.readOpenAiTools(file));
      assertTrue(e.getMessage().contains(":1: tool 1: field 'name' is blank"),
          e.getMessage()); // was IllegalArgumentException from the Tool constructor
    } finally {
      Files.delete(file);
    }
  }

  @Example
  void aNullFileEntryInTheManifestIsCorruptNotANullPointer() throws IOException {
    Path dir = workingIndex();
    ObjectNode manifest = (ObjectNode) JSON.readTree(savedIndexFiles.get("manifest.json"));
    ((ObjectNode) manifest.get("files")).putNull("vectors");
    JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest);
    dirtyIndexFiles.add("manifest.json");
    var e = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
    assertTrue(e.getMessage().contains("manifest.json") && e.getMessage().contains("vectors"),
        e.getMessage()); // was NullPointerException
  }

  @Example
  void aBlankParameterNameInAToolApiIsSkippedNotAnIllegalArgument() throws IOException {
    Path file = scratch().resolve("blank-parameter.jsonl");
    Files.writeString(file, "{\"name\":\"t\",\"description\":\"d\",\"api\":{\"parameters\":{\"properties\":"
        + "{\" \":{\"description\":\"x\"},\"city\":{\"description\":\"where\"}}}}}\n");
    var tools = ToolRetriever.readJsonl(file); // was IllegalArgumentException: parameter name is blank
    org.junit.jupiter.api.Assertions.assertEquals(List.of("city"),
        tools.get(0).parameters().stream().map(p -> p.name()).toList());
  }

  @Example
  void bytesJacksonTakesForUtf32AreCorruptOrAnIoExceptionNamingTheFile() throws IOException {
    // Jackson guesses UTF-32 from leading NUL bytes; its CharConversionException was a bare IOException naming
    // neither file (found by Jazzer: ParserFuzzTestInputs/indexManifest/crash-2855...)
    byte[] utf32 = {0, 0, 0, '{', 0, 0, 0, '"', 0x6e, 0x64, 0x72, 0x61, 0, 0, 0, '}'};
    Path dir = workingIndex();
    Files.write(dir.resolve("manifest.json"), utf32);
    dirtyIndexFiles.add("manifest.json");
    var e = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
    assertTrue(e.getMessage().contains("manifest.json") && e.getMessage().contains("not UTF-8 JSON"), e.getMessage());
    Path tools = scratch().resolve("utf32-tools.json");
    Files.write(tools, utf32);
    IOException t = assertThrows(IOException.class, () -> ToolRetriever.readOpenAiTools(tools));
    assertTrue(t.getMessage().contains(tools.toString()), t.getMessage());
    // bytes that make Jackson fail while it creates the parser ("Unsupported UCS-4 endianness (3412)"; found by
    // Jazzer: ParserFuzzTestInputs/openAiTools/crash-92fd...)
    byte[] ucs4 = {0, 5, 0, 0, '"'};
    Files.write(tools, ucs4);
    IOException u = assertThrows(IOException.class, () -> ToolRetriever.readOpenAiTools(tools));
    assertTrue(u.getMessage().contains(tools.toString()) && u.getMessage().contains("not valid JSON text"),
        u.getMessage());
    Files.write(dir.resolve("manifest.json"), ucs4);
    var m = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
    assertTrue(m.getMessage().contains("manifest.json"), m.getMessage());
  }

  @Example
  void aBlankDemonstrationIdIsAnIoExceptionNamingTheLine() throws IOException {
    Path file = scratch().resolve("blank-id.jsonl");
    Files.writeString(file, "{\"input\":\"a\",\"output\":\"b\"}\n{\"id\":\" \",\"input\":\"a\",\"output\":\"b\"}\n");
    IOException e = assertThrows(IOException.class, () -> ExampleRetriever.readJsonl(file));
    assertTrue(e.getMessage().contains(file + ":2: field 'id' is blank"), e.getMessage()); // was IAE
  }

  @Example
  void aNonFiniteVectorComponentIsCorruptNotAFailingSearch() throws IOException {
    Path dir = workingIndex();
    byte[] vectors = savedIndexFiles.get(fileOfRole("vectors")).clone();
    ByteBuffer b = ByteBuffer.wrap(vectors);
    int lastFloat = vectors.length - 4; // the last component of the last slot
    b.putFloat(lastFloat, Float.NaN);
    writeBehindChecksum(dir, "vectors", vectors);
    var e = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
    assertTrue(e.getMessage().contains(fileOfRole("vectors")) && e.getMessage().contains("= NaN"),
        e.getMessage()); // was loaded; the first search then failed on a NaN score
  }

  @Example
  void invalidUtf8InAJsonLinesFileNamesTheFileAndLine() throws IOException {
    Path file = scratch().resolve("bad-utf8.jsonl");
    Files.write(file, new byte[] {'{', '"', 'i', 'n', 'p', 'u', 't', '"', ':', '"', (byte) 0xFF, '"', '}', '\n'});
    for (Reader reader : List.<Reader>of(ExampleRetriever::readJsonl, ToolRetriever::readJsonl)) {
      IOException e = assertThrows(IOException.class, () -> reader.read(file));
      assertTrue(e.getMessage().contains(file + ":1: not valid UTF-8"), e.getMessage()); // was "Input length = 1"
    }
  }

  @Example
  void aGraphFileWithNeighboursOutOfOrderIsCorruptNotAnAssertionError() throws IOException {
    Path dir = workingIndex();
    byte[] graph = savedIndexFiles.get(fileOfRole("graph")).clone();
    // layout: magic, version, layers (1), degree, entry, size, then node, count, (neighbour, score)...
    ByteBuffer b = ByteBuffer.wrap(graph);
    int firstScore = 4 * 8 + 4; // after the header, the first node's id and count, and its first neighbour's id
    org.junit.jupiter.api.Assertions.assertEquals(1, b.getInt(8), "the test expects a one-layer graph");
    b.putFloat(firstScore, b.getFloat(firstScore) - 100f); // now below the second neighbour's score
    writeBehindChecksum(dir, "graph", graph);
    var e = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
    assertTrue(e.getMessage().contains(fileOfRole("graph")) && e.getMessage().contains("best first"),
        e.getMessage()); // was AssertionError from jvector's loader (with -ea), or a graph loaded out of order
  }

  @Example
  void documentsThatDoNotMatchTheEmbeddingsAreCorruptNotAnIllegalState() throws IOException {
    Path dir = workingIndex();
    byte[] bytes = new String(savedIndexFiles.get(fileOfRole("documents")), StandardCharsets.UTF_8)
        .replaceFirst("\"d0\"", "\"d0x\"").getBytes(StandardCharsets.UTF_8);
    writeBehindChecksum(dir, "documents", bytes);
    var e = assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
    assertTrue(e.getMessage().contains("do not match the 6 saved embeddings"),
        e.getMessage()); // was IllegalStateException: the size was read after closing the vectors
  }

  // ------------------------------------------------------------------------------------------------------ helpers

  interface Reader {
    Object read(Path file) throws IOException;
  }

  interface Action {
    Object run() throws IOException;
  }

  interface Describer {
    String describe() throws IOException;
  }

  static void check(String target, byte[] content, Reader reader) throws IOException {
    Path file = scratch().resolve(target + ".txt");
    Files.write(file, content);
    run(target, file, IOException.class, () -> reader.read(file), () -> show(content));
  }

  /**
   * Runs {@code action}: it may succeed, or throw {@code allowed} with a message naming {@code named}; anything else
   * fails with the input.
   */
  static void run(String target, Path named, Class<? extends Exception> allowed, Action action,
      Describer input) throws IOException {
    AtomicLongArray counts = COUNTS.computeIfAbsent(target, t -> new AtomicLongArray(2));
    if (counts.incrementAndGet(0) % 100_000 == 0) { // progress of long runs
      System.out.printf("fuzz %s: %d inputs so far, %d rejected, %s%n", target, counts.get(0), counts.get(1),
          java.time.Instant.now());
    }
    Object result;
    try {
      result = action.run();
    } catch (Exception | Error e) {
      if (allowed.isInstance(e) && String.valueOf(e.getMessage()).contains(named.toString())) {
        counts.incrementAndGet(1);
        return;
      }
      throw new AssertionError(target + ": undocumented " + e + " (allowed: " + allowed.getSimpleName()
          + " naming " + named + ") for input:\n" + input.describe(), e);
    }
    if (result instanceof AutoCloseable closeable) {
      try {
        if (closeable instanceof DocumentIndex index) { // an index that opens must answer searches
          index.search(new float[] {0.5f, -0.5f, 0.25f, 1f}, 3);
          index.size();
        }
        closeable.close();
      } catch (Exception e) {
        throw new AssertionError(target + ": an index that opened fails: " + e + " for input:\n"
            + input.describe(), e);
      }
    }
  }

  static void openIndex(String target, Path dir, Describer input) throws IOException {
    try {
      run(target, dir, IOException.class, () -> DocumentIndex.open(dir), input);
    } finally {
      restoreWorkingIndex(dir);
    }
  }

  /** A fresh directory under {@code -Dllmembedder.fuzz.dir} (a tmpfs such as /dev/shm speeds long runs up) or tmp. */
  static synchronized Path scratch() throws IOException {
    if (scratch == null) {
      String dir = System.getProperty("llmembedder.fuzz.dir");
      scratch = dir == null ? Files.createTempDirectory("fuzz") : Files.createTempDirectory(Path.of(dir), "fuzz");
      Path created = scratch;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(created)));
    }
    return scratch;
  }

  static synchronized byte[] savedAdapter() throws IOException {
    if (savedAdapter == null) {
      Random random = new Random(5);
      float[][] w = new float[3][3];
      float[] b = new float[3];
      for (int i = 0; i < 3; i++) {
        b[i] = random.nextFloat();
        for (int j = 0; j < 3; j++) {
          w[i][j] = random.nextFloat();
        }
      }
      Path file = scratch().resolve("saved-adapter.bin");
      QueryAdapter.of("bge-small-en-v1.5", w, b).save(file);
      savedAdapter = Files.readAllBytes(file);
    }
    return savedAdapter.clone();
  }

  /**
   * The working copy of a saved index of 6 documents with a graph (so that every file kind is there); each property
   * writes over some of its files and {@link #restoreWorkingIndex} writes them back.
   */
  static synchronized Path workingIndex() throws IOException {
    Path work = scratch().resolve("index");
    if (savedIndex == null) {
      savedIndex = scratch().resolve("saved-index");
      try (DocumentIndex index = DocumentIndex.create(VectorIndex.builder(4).searchMode(SearchMode.GRAPH))) {
        Random random = new Random(3);
        for (int i = 0; i < 6; i++) {
          float[] v = {random.nextFloat(), random.nextFloat(), random.nextFloat(), random.nextFloat()};
          index.add(new Document("d" + i, i % 2 == 0 ? "" : "Title " + i, "Text " + i,
              i == 3 ? Map.of("k", "v") : Map.of()), v);
        }
        index.save(savedIndex);
      }
      Map<String, byte[]> files = new HashMap<>();
      try (var list = Files.list(savedIndex)) {
        for (Path f : (Iterable<Path>) list::iterator) {
          files.put(f.getFileName().toString(), Files.readAllBytes(f));
        }
      }
      savedIndexFiles = Map.copyOf(files);
      dirtyIndexFiles.addAll(files.keySet());
      Files.createDirectories(work);
      for (String role : List.of("documents", "vectors", "graph")) {
        fileOfRole(role); // all three are there
      }
    }
    restoreWorkingIndex(work);
    return work;
  }

  /** Writes back the files of the working index that a property wrote over (all of them the first time). */
  private static void restoreWorkingIndex(Path work) throws IOException {
    for (String name : dirtyIndexFiles) {
      Files.write(work.resolve(name), savedIndexFiles.get(name));
    }
    dirtyIndexFiles.clear();
  }

  static String fileOfRole(String role) throws IOException {
    JsonNode entry = JSON.readTree(savedIndexFiles.get("manifest.json")).path("files").path(role);
    if (!entry.has("name") || !savedIndexFiles.containsKey(entry.get("name").asText())) {
      throw new IllegalStateException("the saved index has no " + role + " file: " + savedIndexFiles.keySet());
    }
    return entry.get("name").asText();
  }

  /** Writes {@code bytes} as the index's file of {@code role}, with its size and CRC32C fixed up in the manifest. */
  static void writeBehindChecksum(Path dir, String role, byte[] bytes) throws IOException {
    ObjectNode manifest = (ObjectNode) JSON.readTree(savedIndexFiles.get("manifest.json"));
    ObjectNode entry = (ObjectNode) manifest.get("files").get(role);
    Files.write(dir.resolve(entry.get("name").asText()), bytes);
    dirtyIndexFiles.add(entry.get("name").asText());
    dirtyIndexFiles.add("manifest.json");
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    entry.put("size", bytes.length).put("crc32c", crc.getValue());
    Files.write(dir.resolve("manifest.json"), JSON.writeValueAsBytes(manifest));
  }

  private static void deleteTree(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String show(byte[] content) {
    return new String(content, StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------------------------------------- generators

  private interface Line {
    String make(Random random);
  }

  /** One to five lines (records, sometimes other JSON or blank lines), then damaged. */
  private static Arbitrary<byte[]> lines(Line line) {
    return Arbitraries.randomValue(random -> {
      StringBuilder s = new StringBuilder();
      for (int i = random.nextInt(5); i >= 0; i--) {
        s.append(random.nextInt(10) == 0 ? value(random, 3, random.nextBoolean()) : line.make(random))
            .append(random.nextInt(8) == 0 ? "\n\n" : "\n");
      }
      return damage(random, s.toString());
    });
  }

  /**
   * A JSON object with the given {@code name, kind} pairs (kinds: {@code s} string, {@code o} object, {@code j} an
   * object or a string holding JSON): each field is left out one time in eight and given a value of any type one
   * time in eight; now and then an extra field.
   */
  private static String record(Random r, String... fields) {
    StringBuilder s = new StringBuilder("{");
    for (int i = 0; i < fields.length; i += 2) {
      if (r.nextInt(8) == 0) {
        continue;
      }
      String v = r.nextInt(8) == 0 ? value(r, 2, false) : switch (fields[i + 1]) {
        case "s" -> quote(r.nextBoolean() ? IDS[r.nextInt(IDS.length)] : text(r));
        case "o" -> value(r, 2, true);
        default -> r.nextBoolean() ? api(r) : quote(api(r));
      };
      s.append(s.length() > 1 ? "," : "").append(quote(fields[i])).append(':').append(v);
    }
    if (r.nextInt(6) == 0) {
      s.append(s.length() > 1 ? "," : "").append(quote(FIELDS[r.nextInt(FIELDS.length)])).append(':')
          .append(value(r, 2, false));
    }
    return s.append('}').toString();
  }

  /** A tool API in one of the shapes the readers know (JSON schema, ToolBench lists, Gorilla arguments). */
  private static String api(Random r) {
    String params = switch (r.nextInt(4)) {
      case 0 -> "\"parameters\":{\"type\":\"object\",\"properties\":{" + quote(text(r)) + ":{\"description\":"
          + (r.nextBoolean() ? quote(text(r)) : value(r, 1, false)) + "}}}";
      case 1 -> quote(r.nextBoolean() ? "required_parameters" : "optional_params") + ":[" + record(r, "name", "s",
          "description", "s") + "]";
      case 2 -> "\"api_arguments\":" + (r.nextBoolean() ? record(r, "x", "s", "y", "s")
          : "[" + quote(text(r)) + "," + record(r, "name", "s", "description", "s") + "]");
      default -> quote(FIELDS[r.nextInt(FIELDS.length)]) + ":" + value(r, 2, false);
    };
    String inner = "{" + params + "}";
    return r.nextBoolean() ? inner : "{\"function\":" + inner + "}";
  }

  private static String openAiTool(Random r) {
    String fn = "{" + "\"name\":" + (r.nextInt(8) == 0 ? value(r, 1, false) : quote(IDS[r.nextInt(IDS.length)]))
        + (r.nextBoolean() ? ",\"description\":" + (r.nextInt(8) == 0 ? value(r, 1, false) : quote(text(r))) : "")
        + (r.nextBoolean() ? ",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"description\":"
        + quote(text(r)) + "}}}" : "") + "}";
    return r.nextBoolean() ? fn : "{\"type\":\"function\",\"function\":" + (r.nextInt(8) == 0 ? value(r, 1, false)
        : fn) + "}";
  }

  /** Random JSON text: mostly objects with the readers' field names, values of every type, strings that hold JSON. */
  private static String value(Random random, int depth, boolean object) {
    if (depth < 0) {
      return object ? "{}" : quote(text(random));
    }
    int kind = object ? 0 : depth == 0 ? 1 + random.nextInt(3) : random.nextInt(8);
    return switch (kind) {
      case 0 -> {
        StringBuilder s = new StringBuilder("{");
        for (int i = random.nextInt(5); i >= 0; i--) {
          s.append(s.length() > 1 ? "," : "").append(quote(random.nextInt(10) == 0 ? text(random)
              : FIELDS[random.nextInt(FIELDS.length)])).append(':').append(value(random, depth - 1, false));
        }
        yield s.append('}').toString();
      }
      case 1 -> quote(text(random));
      case 2 -> Integer.toString(random.nextInt(2000) - 1000);
      case 3 -> List.of("null", "true", "false", "1e400", "-0.0", "NaN", "\"\"", "\" \"").get(random.nextInt(8));
      case 4 -> quote(value(random, 1, true)); // a string holding JSON, as tool APIs may be written
      case 5 -> {
        StringBuilder s = new StringBuilder("[");
        for (int i = random.nextInt(3); i >= 0; i--) {
          s.append(s.length() > 1 ? "," : "").append(value(random, depth - 1, random.nextBoolean()));
        }
        yield s.append(']').toString();
      }
      default -> value(random, depth - 1, true);
    };
  }

  private static String text(Random random) {
    String[] parts = {"", " ", "get_weather", "x", "../x", "\u0000", "\uD800", "😀", "שלום", "\t", "{}", "[",
        "a b", "q1", "d1"};
    StringBuilder s = new StringBuilder();
    for (int i = random.nextInt(3); i >= 0; i--) {
      s.append(parts[random.nextInt(parts.length)]);
    }
    return s.toString();
  }

  private static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * UTF-8 bytes of {@code s}, often intact; otherwise cut, or with one character inserted or deleted, or with an
   * invalid UTF-8 byte inserted.
   */
  private static byte[] damage(Random random, String s) {
    if (!s.isEmpty()) {
      int at = random.nextInt(s.length());
      switch (random.nextInt(7)) {
        case 0 -> s = s.substring(0, at);
        case 1 -> s = s.substring(0, at) + DAMAGE.charAt(random.nextInt(DAMAGE.length())) + s.substring(at);
        case 2 -> s = s.substring(0, at) + s.substring(at + 1);
        case 3 -> {
          if (random.nextInt(3) == 0) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            int i = random.nextInt(b.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + 1);
            out.write(b, 0, i);
            out.write(new byte[] {(byte) 0xFF, (byte) 0xC3, (byte) 0x80, (byte) 0xED}[random.nextInt(4)]);
            out.write(b, i, b.length - i);
            return out.toByteArray();
          }
        }
        default -> { }
      }
    }
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static final int[] BOUNDARY_INTS = {0, 1, -1, 2, 3, 4, 5, 6, 7, 255, 65_535, Integer.MAX_VALUE,
      Integer.MIN_VALUE, 1 << 20, 1 << 30};

  /** One to four changes: a bit flipped, a byte set, a big-endian int set to a boundary value, a cut, bytes added. */
  private static byte[] mutateBinary(Random r, byte[] original) {
    byte[] b = original.clone();
    for (int n = 1 + r.nextInt(4); n > 0; n--) {
      if (b.length == 0) {
        b = new byte[] {(byte) r.nextInt()};
        continue;
      }
      int at = r.nextInt(b.length);
      switch (r.nextInt(6)) {
        case 0 -> b[at] ^= (byte) (1 << r.nextInt(8));
        case 1 -> b[at] = (byte) r.nextInt();
        case 2, 3 -> {
          int pos = Math.min(at & ~3, Math.max(0, b.length - 4));
          if (b.length >= 4) {
            int v = BOUNDARY_INTS[r.nextInt(BOUNDARY_INTS.length)];
            ByteBuffer.wrap(b).putInt(pos, r.nextInt(4) == 0 ? ByteBuffer.wrap(b).getInt(pos) + v : v);
          }
        }
        case 4 -> b = Arrays.copyOf(b, at);
        default -> {
          byte[] longer = Arrays.copyOf(b, b.length + 1 + r.nextInt(8));
          for (int i = b.length; i < longer.length; i++) {
            longer[i] = (byte) r.nextInt();
          }
          b = longer;
        }
      }
    }
    return b;
  }

  /** Replaces {@code count} random values inside {@code tree} (an object or array) with random JSON. */
  private static void mutate(Random random, JsonNode tree, int count) throws IOException {
    for (int i = 0; i < count; i++) {
      JsonNode node = tree;
      while (true) {
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
          keys.add(it.next());
        }
        if (!(node instanceof ObjectNode object) || keys.isEmpty()) {
          break;
        }
        String key = keys.get(random.nextInt(keys.size()));
        JsonNode child = object.get(key);
        if (child.isObject() && random.nextInt(3) != 0) {
          node = child;
          continue;
        }
        switch (random.nextInt(5)) {
          case 0 -> object.remove(key);
          case 1 -> object.set(key, JSON.readTree(value(random, 2, false).replace("NaN", "0").replace("1e400", "1")));
          case 2 -> object.put(key, child.isNumber() ? child.asLong() + random.nextInt(5) - 2 : 7);
          case 3 -> {
            if (child.isNumber()) {
              object.put(key, BOUNDARY_INTS[random.nextInt(BOUNDARY_INTS.length)]);
            } else {
              object.put(key, child.asText().replaceAll("\\d+", random.nextBoolean() ? "999999999999999999" : "0"));
            }
          }
          default -> object.put(key, child.isTextual() ? child.asText() + "x" : "x");
        }
        break;
      }
    }
  }
}
