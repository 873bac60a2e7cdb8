package dev.llmembedder.index;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.CharConversionException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.stream.Collectors;

/**
 * The commit point of a saved index: which generation is current, the index settings (a record of type
 * {@code C}: {@link IndexConfig}, or {@link DiskIndexConfig} for a {@link DiskVectorIndex}), and the name, size
 * and CRC32C of each data file of that generation, keyed by role ({@code vectors}, {@code graph},
 * {@code documents}, ...).
 */
record Manifest<C>(int formatVersion, String kind, long generation, C config, Map<String, FileEntry> files) {
  static final int FORMAT_VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES);

  /** Writes the data files of one generation and returns them by role. */
  @FunctionalInterface
  interface GenerationWriter {
    Map<String, FileEntry> write(long generation) throws IOException;
  }

  Manifest {
    files = Collections.unmodifiableMap(new LinkedHashMap<>(files));
  }

  /**
   * Saves a new generation into {@code directory}: writes its data files through {@code writer}, commits a
   * manifest listing them, then deletes the files of older (or crashed) generations.
   */
  static <C> void save(Path directory, String kind, C config, GenerationWriter writer) throws IOException {
    Files.createDirectories(directory);
    long generation = AtomicFiles.nextGeneration(directory);
    Manifest<C> manifest = new Manifest<>(FORMAT_VERSION, kind, generation, config, writer.write(generation));
    AtomicFiles.commit(directory, JSON.writeValueAsBytes(manifest));
    Set<String> keep = manifest.files().values().stream().map(FileEntry::name).collect(Collectors.toSet());
    AtomicFiles.deleteStale(directory, keep);
  }

  /**
   * Reads and checks the manifest of {@code directory}, whose settings must be a {@code configType}.
   *
   * @throws NoSuchFileException    if the directory holds no saved index
   * @throws CorruptIndexException  if the manifest cannot be parsed or lists impossible files
   * @throws IOException            if it holds another kind of index or a newer format
   */
  static <C> Manifest<C> read(Path directory, String expectedKind, Class<C> configType) throws IOException {
    Path file = directory.resolve(AtomicFiles.MANIFEST);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "no saved index in " + directory);
    }
    Manifest<C> manifest;
    try {
      JsonNode tree = JSON.readTree(bytes);
      // version and kind first: another kind of index has settings of another type
      if (!tree.path("formatVersion").isInt() || !tree.path("kind").isTextual()) {
        throw new CorruptIndexException(file, "has no formatVersion and kind");
      }
      int formatVersion = tree.get("formatVersion").intValue();
      if (formatVersion != FORMAT_VERSION) {
        throw new IOException(file + " has format version " + formatVersion
            + "; this library reads version " + FORMAT_VERSION);
      }
      String kind = tree.get("kind").textValue();
      if (!expectedKind.equals(kind)) {
        throw new IOException(directory + " holds a " + kind + ", not a " + expectedKind);
      }
      manifest = JSON.treeToValue(tree, JSON.getTypeFactory().constructParametricType(Manifest.class, configType));
    } catch (JacksonException e) {
      throw new CorruptIndexException(file, "cannot parse: " + e.getOriginalMessage(), e);
    } catch (CharConversionException e) {
      // Jackson guesses the encoding from the first bytes (UTF-16/32 too) and reports bad ones this way; it was a bare
      // IOException naming neither the file nor its cause (found by fuzzing)
      throw new CorruptIndexException(file, "cannot parse: not UTF-8 JSON (" + e.getMessage() + ")", e);
    }
    for (Map.Entry<String, FileEntry> role : manifest.files().entrySet()) {
      FileEntry entry = role.getValue();
      if (entry == null) {
        throw new CorruptIndexException(file, "lists no file for role \"" + role.getKey() + "\" (null)");
      }
      Matcher m = AtomicFiles.DATA_FILE.matcher(entry.name());
      if (!m.matches() || Long.parseLong(m.group(2)) != manifest.generation()) {
        throw new CorruptIndexException(file, "lists file \"" + entry.name()
            + "\", which is not a data file of generation " + manifest.generation());
      }
    }
    return manifest;
  }

  /** Returns the entry for {@code role}, which must be listed. */
  FileEntry file(String role, Path directory) throws CorruptIndexException {
    FileEntry entry = files.get(role);
    if (entry == null) {
      throw new CorruptIndexException(directory.resolve(AtomicFiles.MANIFEST), "lists no " + role + " file");
    }
    return entry;
  }
}
