package dev.llmembedder.trainer.internal;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Replaces a file atomically: the content goes to a temporary file beside it, which is fsynced, renamed over the
 * target ({@code ATOMIC_MOVE}) and made durable by an fsync of the directory. A crash or an exception at any moment
 * leaves the old file (or none) in place, never a partial one. Concurrent writers of one target do not corrupt it: the
 * last rename wins. The one way the trainer writes its files (training rows, checkpoints, exported models, score
 * settings).
 *
 * <p>Internal to the trainer: not API, may change without notice. Stateless and thread-safe.
 */
public final class AtomicFile {
  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFile() {}

  /** Writes the content of one file; the stream is buffered, and flushed and closed by {@link #write}. */
  @FunctionalInterface
  public interface Body {
    void writeTo(OutputStream out) throws IOException;
  }

  /** Writes {@code content} to {@code target}, creating its parent directories. */
  public static void write(Path target, byte[] content) throws IOException {
    write(target, out -> out.write(content));
  }

  /**
   * Writes {@code target} through {@code body}, creating its parent directories.
   *
   * @throws IOException if the body or the file system fails; the target is then as it was
   */
  public static void write(Path target, Body body) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    Files.createDirectories(dir);
    // a fresh name per write (concurrent writers do not share one), created with the default permissions
    Path temp = dir.resolve("." + absolute.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
    FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    boolean moved = false;
    try {
      try (channel) {
        // not closed: closing it would close the channel, which the try block owns
        OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
        body.writeTo(out);
        out.flush();
        channel.force(true);
      }
      Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      moved = true;
      fsyncDirectory(dir);
    } finally {
      if (!moved) {
        Files.deleteIfExists(temp);
      }
    }
  }

  /** Makes a rename in {@code dir} durable (a no-op on Windows, which cannot fsync a directory). */
  public static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Windows cannot open or fsync a directory; its rename is durable on its own
      if (!System.getProperty("os.name", "").startsWith("Windows")) {
        throw e;
      }
    }
  }
}
