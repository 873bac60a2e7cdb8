package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The graph rewrite holds two to three times the model's size on the heap while the encoder loads: in a heap that is
 * big enough for the default fp32 model (133 MB) but not for its rewrite, the encoder must still load, run the graph
 * as exported and say why, not fail with an {@link OutOfMemoryError}.
 */
class SmallHeapLoadTest {

  @Test
  void aHeapTooSmallForTheGraphRewriteLoadsTheGraphAsExported(@TempDir Path tmp) throws Exception {
    Path stderr = tmp.resolve("child.err");
    try (ChildJvm child = ChildJvm.start(LoadDefaultModel.class, List.of("-Xmx300m"), stderr)) {
      String line = child.expectLine("loaded", 300_000);
      assertEquals("loaded 384", line);
      child.process().waitFor();
      String log = Files.readString(stderr);
      assertTrue(log.contains("left as it is: the rewrite needs two to three times the model's size of heap"), log);
    }
  }

  /** Child main: loads the default model and encodes a query. */
  public static final class LoadDefaultModel {
    public static void main(String[] args) {
      try (Encoder encoder = Encoder.load(ModelPreset.BGE_SMALL_EN_V15)) {
        System.out.println("loaded " + encoder.encodeQuery("Why is the sea salty?", Task.QA).length);
      }
    }
  }
}
