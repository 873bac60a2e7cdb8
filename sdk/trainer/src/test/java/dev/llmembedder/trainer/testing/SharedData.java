package dev.llmembedder.trainer.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The read-only {@code shared/} folder beside the project root (real datasets and models for tests), as in
 * {@code sdk/core}'s tests. Surefire passes its path as the system property {@code llmembedder.shared.dir}; tests that
 * need it skip when it is absent.
 */
public final class SharedData {
  private SharedData() {}

  /** {@code shared/<relative>}, or skips the calling test with a message saying what is missing. */
  public static Path require(String relative) {
    String dir = System.getProperty("llmembedder.shared.dir", "../../../shared");
    Path path = Path.of(dir).resolve(relative).toAbsolutePath().normalize();
    assumeTrue(Files.exists(path), "skipped: " + path + " is absent (the shared/ folder beside the project root"
        + " holds the real test data; CI always has it)");
    return path;
  }
}
