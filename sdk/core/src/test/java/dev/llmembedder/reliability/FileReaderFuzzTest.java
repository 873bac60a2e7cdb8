package dev.llmembedder.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmembedder.index.CorruptIndexException;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ToolRetriever;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Property-based fuzzing (jqwik) of everything read from outside: the tool readers (JSON lines and OpenAI JSON), the
 * demonstrations reader, and a saved {@link DocumentIndex} whose {@code manifest.json} or documents file is mutated
 * (the documents file with its size and CRC32C fixed up in the manifest, so the parser behind the checksum is reached).
 * Inputs are random JSON built from the fields these readers know, then often damaged (cut, a character inserted or
 * deleted). Only the documented exception may come out: {@link IOException} (for an index, including
 * {@code CorruptIndexException}); anything else fails the property with the input.
 *
 * <p>Tries per property: jqwik's default (1,000), or {@code -Djqwik.tries.default=N}; the counts are printed.
 */
class FileReaderFuzzTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] FIELDS = {"id", "name", "description", "api", "parameters", "properties", "type",
      "function", "input", "output", "task", "instruction", "title", "text", "metadata", "required_parameters",
      "optional_parameters", "api_arguments", "formatVersion", "kind", "generation", "config", "files", "size",
      "crc32c", "dimension", "searchMode", "documents", "vectors", "graph"};
  /** Characters inserted by {@link #damage}. */
  private static final String DAMAGE = "{}[]\",:\\\u0000\n x1";
  private static final AtomicLong TRIES = new AtomicLong();
  private static final AtomicLong REJECTED = new AtomicLong();
  private static Path saved;

  @AfterContainer
  static void report() {
    System.out.printf("fuzz: %d inputs, %d rejected with the documented IOException, none with anything else%n",
        TRIES.get(), REJECTED.get());
  }

  @Provide
  Arbitrary<String> jsonLines() {
    return Arbitraries.randomValue(random -> {
      StringBuilder s = new StringBuilder();
      for (int i = random.nextInt(4); i >= 0; i--) {
        s.append(value(random, 3, true)).append(random.nextInt(6) == 0 ? "\n\n" : "\n");
      }
      return damage(random, s.toString());
    });
  }

  @Provide
  Arbitrary<Long> seeds() {
    return Arbitraries.longs();
  }

  @Property
  void toolJsonLines(@ForAll("jsonLines") String content) throws Exception {
    check(content, ToolRetriever::readJsonl);
  }

  @Property
  void openAiTools(@ForAll("jsonLines") String content) throws Exception {
    check(content, ToolRetriever::readOpenAiTools);
  }

  @Property
  void demonstrations(@ForAll("jsonLines") String content) throws Exception {
    check(content, ExampleRetriever::readJsonl);
  }

  @Property
  void mutatedIndexManifest(@ForAll("seeds") long seed) throws Exception {
    Random random = new Random(seed);
    Path dir = copyOfSavedIndex();
    try {
      Path manifest = dir.resolve("manifest.json");
      JsonNode tree = JSON.readTree(manifest.toFile());
      mutate(random, tree, 1 + random.nextInt(3));
      Files.write(manifest, damage(random, JSON.writeValueAsString(tree)).getBytes(StandardCharsets.UTF_8));
      openIndex(dir, "manifest " + new String(Files.readAllBytes(manifest), StandardCharsets.UTF_8));
    } finally {
      deleteTree(dir);
    }
  }

  @Property
  void mutatedDocumentsFileBehindAValidChecksum(@ForAll("seeds") long seed) throws Exception {
    Random random = new Random(seed);
    Path dir = copyOfSavedIndex();
    try {
      ObjectNode manifest = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
      ObjectNode entry = (ObjectNode) manifest.get("files").get("documents");
      Path documents = dir.resolve(entry.get("name").asText());
      List<String> lines = new ArrayList<>(Files.readAllLines(documents));
      int line = random.nextInt(lines.size());
      JsonNode doc = JSON.readTree(lines.get(line));
      if (random.nextBoolean()) {
        mutate(random, doc, 1 + random.nextInt(2));
        lines.set(line, JSON.writeValueAsString(doc));
      }
      lines.set(line, damage(random, lines.get(line)));
      if (random.nextInt(8) == 0) {
        lines.add(random.nextInt(lines.size() + 1), value(random, 2, true));
      }
      byte[] bytes = (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8);
      Files.write(documents, bytes);
      CRC32C crc = new CRC32C();
      crc.update(bytes);
      entry.put("size", bytes.length).put("crc32c", crc.getValue());
      JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest);
      openIndex(dir, "documents " + String.join("\n", lines));
    } finally {
      deleteTree(dir);
    }
  }

  // ----------------------------------------------------------------------- regressions: inputs the fuzzing found

  @Example
  void aBlankOpenAiToolNameIsAnIoExceptionNamingTheLine() throws IOException {
    Path file = Files.writeString(Files.createTempFile("fuzz", ".json"), "{\"type\": false, \"name\": \"\"}");
    try {
      IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
          () -> ToolRetriever.readOpenAiTools(file));
      org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(":1: tool 1: field 'name' is blank"),
          e.getMessage()); // was IllegalArgumentException from the Tool constructor
    } finally {
      Files.delete(file);
    }
  }

  @Example
  void aNullFileEntryInTheManifestIsCorruptNotANullPointer() throws IOException {
    Path dir = copyOfSavedIndex();
    try {
      ObjectNode manifest = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
      ((ObjectNode) manifest.get("files")).putNull("vectors");
      JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest);
      var e = org.junit.jupiter.api.Assertions.assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
      org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("manifest.json")
          && e.getMessage().contains("vectors"), e.getMessage()); // was NullPointerException
    } finally {
      deleteTree(dir);
    }
  }

  @Example
  void documentsThatDoNotMatchTheEmbeddingsAreCorruptNotAnIllegalState() throws IOException {
    Path dir = copyOfSavedIndex();
    try {
      ObjectNode manifest = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
      ObjectNode entry = (ObjectNode) manifest.get("files").get("documents");
      Path documents = dir.resolve(entry.get("name").asText());
      byte[] bytes = Files.readString(documents).replaceFirst("\"d0\"", "\"d0x\"").getBytes(StandardCharsets.UTF_8);
      Files.write(documents, bytes);
      CRC32C crc = new CRC32C();
      crc.update(bytes);
      entry.put("size", bytes.length).put("crc32c", crc.getValue());
      JSON.writeValue(dir.resolve("manifest.json").toFile(), manifest);
      var e = org.junit.jupiter.api.Assertions.assertThrows(CorruptIndexException.class, () -> DocumentIndex.open(dir));
      org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("do not match the 6 saved embeddings"),
          e.getMessage()); // was IllegalStateException: the size was read after closing the vectors
    } finally {
      deleteTree(dir);
    }
  }

  // ------------------------------------------------------------------------------------------------------ helpers

  private interface Reader {
    Object read(Path file) throws IOException;
  }

  private static void check(String content, Reader reader) throws IOException {
    TRIES.incrementAndGet();
    Path file = Files.createTempFile("fuzz", ".jsonl");
    try {
      Files.write(file, content.getBytes(StandardCharsets.UTF_8)); // a lone surrogate becomes '?' 
      reader.read(file);
    } catch (IOException e) {
      REJECTED.incrementAndGet(); // documented
    } catch (RuntimeException | Error e) {
      throw new AssertionError("undocumented " + e + " for input:\n" + content, e);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static void openIndex(Path dir, String what) {
    TRIES.incrementAndGet();
    try (DocumentIndex index = DocumentIndex.open(dir)) {
      index.size();
    } catch (IOException e) {
      REJECTED.incrementAndGet(); // documented, CorruptIndexException included
    } catch (RuntimeException | Error e) {
      throw new AssertionError("undocumented " + e + " opening an index with " + what, e);
    }
  }

  private static synchronized Path copyOfSavedIndex() throws IOException {
    if (saved == null) {
      saved = Files.createTempDirectory("fuzz-index");
      try (DocumentIndex index = DocumentIndex.create(4)) {
        Random random = new Random(3);
        for (int i = 0; i < 6; i++) {
          float[] v = {random.nextFloat(), random.nextFloat(), random.nextFloat(), random.nextFloat()};
          index.add(new Document("d" + i, i % 2 == 0 ? "" : "Title " + i, "Text " + i,
              i == 3 ? java.util.Map.of("k", "v") : java.util.Map.of()), v);
        }
        index.save(saved);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(saved)));
    }
    Path copy = Files.createTempDirectory("fuzz-copy");
    try (var files = Files.list(saved)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, copy.resolve(f.getFileName()));
      }
    }
    return copy;
  }

  private static void deleteTree(Path dir) {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
    String[] parts = {"", " ", "get_weather", "x", "../x", "\u0000", "\uD800", "😀", "שלום", "\t", "{}", "[", "a b"};
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

  /** Often leaves the text intact; otherwise cuts it, or inserts or deletes one character. */
  private static String damage(Random random, String s) {
    if (s.isEmpty()) {
      return s;
    }
    int at = random.nextInt(s.length());
    return switch (random.nextInt(6)) {
      case 0 -> s.substring(0, at);
      case 1 -> s.substring(0, at) + DAMAGE.charAt(random.nextInt(DAMAGE.length())) + s.substring(at);
      case 2 -> s.substring(0, at) + s.substring(at + 1);
      default -> s;
    };
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
        switch (random.nextInt(4)) {
          case 0 -> object.remove(key);
          case 1 -> object.set(key, JSON.readTree(value(random, 2, false).replace("NaN", "0").replace("1e400", "1")));
          case 2 -> object.put(key, child.isNumber() ? child.asLong() + random.nextInt(5) - 2 : 7);
          default -> object.put(key, child.isTextual() ? child.asText() + "x" : "x");
        }
        break;
      }
    }
  }
}
