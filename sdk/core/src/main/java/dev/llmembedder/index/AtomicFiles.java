package dev.llmembedder.index;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * Crash-safe file primitives for saved indexes. A save writes every data file under a new generation number
 * ({@code vectors-<gen>.bin}, ...), fsyncs them and the directory, then replaces {@code manifest.json}
 * atomically (temp file, fsync, {@code ATOMIC_MOVE}, directory fsync). The manifest is the only commit point:
 * a crash at any moment leaves the previous manifest and the files it lists intact. Files of other generations
 * are deleted only after the commit. Not thread-safe: callers serialise saves into one directory.
 */
final class AtomicFiles {
  private static final Logger LOG = LoggerFactory.getLogger(AtomicFiles.class);

  static final String MANIFEST = "manifest.json";
  private static final String MANIFEST_TEMP = "manifest.json.tmp";
  /** Data files: {@code <role>-<generation>.<extension>}; group 2 is the generation. */
  static final Pattern DATA_FILE = Pattern.compile("([a-z]+)-(\\d{1,18})\\.(bin|jsonl)");
  private static final int BUFFER_BYTES = 1 << 16;

  /** Writes the content of one data file. */
  @FunctionalInterface
  interface Body {
    void writeTo(DataOutputStream out) throws IOException;
  }

  private AtomicFiles() {
  }

  static String dataFileName(String role, long generation, String extension) {
    return role + "-" + generation + "." + extension;
  }

  /**
   * Returns a generation above every data file in {@code directory}, including those of saves that crashed
   * before their commit, so a new save never reuses a file name.
   */
  static long nextGeneration(Path directory) throws IOException {
    long max = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
      for (Path file : files) {
        Matcher m = DATA_FILE.matcher(file.getFileName().toString());
        if (m.matches()) {
          max = Math.max(max, Long.parseLong(m.group(2)));
        }
      }
    }
    return max + 1;
  }

  /** Writes {@code directory/name} through {@code body}, fsyncs it and returns its size and CRC32C. */
  static FileEntry write(Path directory, String name, Body body) throws IOException {
    try (FileChannel channel = FileChannel.open(directory.resolve(name), StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      CRC32C crc = new CRC32C();
      // not closed: closing would close the channel, which the try block owns
      DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
          new CheckedOutputStream(Channels.newOutputStream(channel), crc), BUFFER_BYTES));
      body.writeTo(out);
      out.flush();
      channel.force(true);
      return new FileEntry(name, channel.size(), crc.getValue());
    }
  }

  /** Atomically replaces {@code directory/manifest.json} with {@code manifest}; the commit point of a save. */
  static void commit(Path directory, byte[] manifest) throws IOException {
    fsyncDirectory(directory); // the data files' directory entries are durable before the manifest names them
    Path temp = directory.resolve(MANIFEST_TEMP);
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(manifest);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
    Files.move(temp, directory.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    fsyncDirectory(directory);
  }

  /**
   * Deletes data files not in {@code keep} and a leftover manifest temp file; other files are left alone.
   * Failures are logged, not thrown: the save has already committed.
   */
  static void deleteStale(Path directory, Set<String> keep) {
    try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        boolean ours = name.equals(MANIFEST_TEMP) || DATA_FILE.matcher(name).matches();
        if (ours && !keep.contains(name)) {
          try {
            Files.deleteIfExists(file);
          } catch (IOException e) {
            LOG.warn("Could not delete stale index file {}", file, e);
          }
        }
      }
    } catch (IOException e) {
      LOG.warn("Could not list {} to delete stale index files", directory, e);
    }
  }

  /** Checks that the file described by {@code entry} exists with the recorded size and CRC32C. */
  static void verify(Path directory, FileEntry entry) throws IOException {
    Path file = directory.resolve(entry.name());
    checkSize(file, entry, size(file));
    checkCrc(file, entry, crc32c(file));
  }

  /**
   * Fsyncs {@code directory/name}, a complete data file written by another library (jvector's graph writer),
   * and returns its size and CRC32C for the manifest.
   */
  static FileEntry seal(Path directory, String name) throws IOException {
    Path file = directory.resolve(name);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
    return new FileEntry(name, Files.size(file), crc32c(file));
  }

  private static long crc32c(Path file) throws IOException {
    CRC32C crc = new CRC32C();
    byte[] buffer = new byte[BUFFER_BYTES];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        crc.update(buffer, 0, n);
      }
    }
    return crc.getValue();
  }

  /** Reads the whole file described by {@code entry} after checking its size and CRC32C. */
  static byte[] readVerified(Path directory, FileEntry entry) throws IOException {
    Path file = directory.resolve(entry.name());
    checkSize(file, entry, size(file));
    byte[] bytes = Files.readAllBytes(file);
    checkSize(file, entry, bytes.length);
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    checkCrc(file, entry, crc.getValue());
    return bytes;
  }

  private static long size(Path file) throws IOException {
    try {
      return Files.size(file);
    } catch (NoSuchFileException e) {
      throw new CorruptIndexException(file, "missing, although " + MANIFEST + " lists it", e);
    }
  }

  private static void checkSize(Path file, FileEntry entry, long actual) throws CorruptIndexException {
    if (actual != entry.size()) {
      throw new CorruptIndexException(file,
          "size is " + actual + " bytes, " + MANIFEST + " records " + entry.size() + " bytes");
    }
  }

  private static void checkCrc(Path file, FileEntry entry, long actual) throws CorruptIndexException {
    if (actual != entry.crc32c()) {
      throw new CorruptIndexException(file, String.format(Locale.ROOT,
          "CRC32C is %08x, %s records %08x", actual, MANIFEST, entry.crc32c()));
    }
  }

  private static void fsyncDirectory(Path directory) throws IOException {
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Windows cannot open or fsync a directory; its rename is durable on its own
      if (!System.getProperty("os.name", "").startsWith("Windows")) {
        throw e;
      }
    }
  }
}
