package dev.llmembedder.index;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Thrown by {@link VectorIndex#open(Path)} and {@link DocumentIndex#open(Path)} when a file of a saved index
 * is missing, truncated, fails its CRC32C checksum or cannot be parsed. The message names the file.
 */
public final class CorruptIndexException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  CorruptIndexException(Path file, String problem) {
    this(file, problem, null);
  }

  CorruptIndexException(Path file, String problem, Throwable cause) {
    super("corrupt index file " + file + ": " + problem, cause);
    this.file = file;
  }

  /**
   * Returns the damaged file.
   *
   * @return the path of the file that failed verification or parsing
   */
  public Path file() {
    return file;
  }
}
