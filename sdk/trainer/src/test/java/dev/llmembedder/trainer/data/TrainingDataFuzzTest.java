package dev.llmembedder.trainer.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link TrainingData#read(Path)}, the reader of LLM-Embedder's training rows:
 * each input is the raw bytes of a file. Only the documented {@link IOException}, its message naming the file, may
 * come out. In {@code ./mvnw verify} it replays the seeds in
 * {@code src/test/resources/dev/llmembedder/trainer/data/TrainingDataFuzzTestInputs/trainingData/}; fuzzing mode:
 * {@code JAZZER_FUZZ=1 ./mvnw -pl sdk/trainer -am test -Dtest=TrainingDataFuzzTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Djazzer.max_executions=1000000} (see {@code docs/RELIABILITY.md}).
 */
class TrainingDataFuzzTest {
  private static Path file;

  @AfterAll
  static void deleteFile() throws IOException {
    if (file != null) {
      Files.deleteIfExists(file);
    }
  }

  @FuzzTest(maxDuration = "10m")
  void trainingData(byte[] data) throws IOException {
    if (file == null) {
      file = Files.createTempFile("fuzz-training", ".jsonl");
    }
    Files.write(file, data);
    try {
      TrainingData.read(file);
    } catch (IOException e) {
      if (!String.valueOf(e.getMessage()).contains(file.toString())) {
        throw new AssertionError("an IOException that does not name the file: " + e, e);
      }
    }
  }

  @Test
  void invalidUtf8NamesTheFileAndLine() throws IOException {
    Path bad = Files.createTempFile("bad-utf8", ".jsonl");
    try {
      Files.write(bad, new byte[] {'{', '"', 'q', 'u', 'e', 'r', 'y', '"', ':', '"', (byte) 0xC3, '"', '}', '\n'});
      IOException e = assertThrows(IOException.class, () -> TrainingData.read(bad));
      assertTrue(e.getMessage().contains(bad + ":1: not valid UTF-8"), e.getMessage()); // was "Input length = 1"
    } finally {
      Files.delete(bad);
    }
  }
}
