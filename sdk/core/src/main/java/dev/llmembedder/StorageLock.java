package dev.llmembedder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The exclusive lock an {@link LlmEmbedder} holds on its storage directory from {@code build()} to {@code close()}:
 * an OS file lock ({@link FileChannel#tryLock()}) on {@code storage/embedder.lock}, so a second embedder on the same
 * directory, in this JVM or another process, is refused instead of overwriting the first one's commits. The operating
 * system releases the lock when the process dies, so a crashed writer never leaves the directory locked; the lock
 * file itself stays and means nothing on its own. Not thread-safe: the embedder acquires and releases it once.
 */
final class StorageLock implements AutoCloseable {
  static final String FILE = "embedder.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private StorageLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Creates {@code storage} if missing and locks it.
   *
   * @throws IllegalStateException naming the directory when another embedder (in this JVM or another process) holds it
   * @throws UncheckedIOException naming the directory when it cannot be created or its lock file cannot be written
   */
  static StorageLock acquire(Path storage) {
    Path file = storage.resolve(FILE);
    FileChannel channel;
    try {
      Files.createDirectories(storage);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot use storage directory " + storage + " (it must be a writable directory): "
          + e, e);
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by another channel of this JVM
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot lock storage directory " + storage + " (" + file + "): " + e, e);
    }
    if (lock == null) {
      closeQuietly(channel);
      throw new IllegalStateException("storage directory " + storage + " is in use by another LlmEmbedder, in this"
          + " process or another one (" + file + " is locked); close that embedder first, or use another storage"
          + " directory");
    }
    return new StorageLock(channel, lock);
  }

  /** Releases the lock; the file stays. */
  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // closing the channel below releases it too
    } finally {
      closeQuietly(channel);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing was written through it
    }
  }
}
