package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Native memory: a child JVM ({@link NativeMemoryProbe}) opens and closes the facade, or encodes, many times; its
 * resident memory may grow by less than 50 MB in all from the end of warm-up to the end. A leaked ONNX Runtime
 * session (about 130 MB for fp32, 35 MB for int8 per open) or tokenizer would show at once.
 *
 * <p>{@code -Dllmembedder.native.opens} (default 10), {@code -Dllmembedder.native.encodes} (default 300) and
 * {@code -Dllmembedder.native.model} (default {@code bge-small-en-v1.5-int8}) size it; the benchmark mode is
 * 1,000 opens and 100,000 encodes with {@code bge-small-en-v1.5}.
 */
class NativeMemoryTest {
  private static final long LIMIT_KB = 50 * 1024;
  /**
   * The child's Java heap is committed and touched at start ({@code -Xms} = {@code -Xmx}, {@code AlwaysPreTouch}), so
   * that RSS grows only with native memory: with a heap that grows on demand, the transient heap of each open (the
   * model's bytes and its graph rewrite, 2 to 3 times the model's size) shows as RSS growth that is not a leak
   * (+70 MB over 4 int8 opens once the graph rewrite came in, against +9 MB over 14 opens with the heap pre-touched).
   */
  private static final List<String> CHILD_HEAP = List.of("-Xms1g", "-Xmx1g", "-XX:+AlwaysPreTouch");
  private static final String MODEL = System.getProperty("llmembedder.native.model", "bge-small-en-v1.5-int8");

  @Test
  void openingAndClosingTheFacadeDoesNotGrowResidentMemory(@TempDir Path tmp) throws Exception {
    int n = Integer.getInteger("llmembedder.native.opens", 10);
    measure("opens", n, tmp, "opens", Integer.toString(n), MODEL, tmp.resolve("store").toString());
  }

  @Test
  void encodingDoesNotGrowResidentMemory(@TempDir Path tmp) throws Exception {
    int n = Integer.getInteger("llmembedder.native.encodes", 300);
    measure("encodes", n, tmp, "encodes", Integer.toString(n), MODEL);
  }

  private static void measure(String what, int n, Path tmp, String... args) throws Exception {
    assumeTrue(Files.exists(Path.of("/proc/self/status")), "skipped: needs Linux /proc to read resident memory");
    long start = System.nanoTime();
    try (ChildJvm child = ChildJvm.start(NativeMemoryProbe.class, CHILD_HEAP, tmp.resolve("child.err"),
        args)) {
      // generous: the sizes with the fp32 model take about an hour on 2 busy cores
      long warm = Long.parseLong(child.expectLine("RSS warm", 3_600_000).split(" ")[2]);
      long end = Long.parseLong(child.expectLine("RSS end", 6 * 3_600_000).split(" ")[2]);
      child.process().waitFor();
      System.out.printf("native memory: %d %s of %s: RSS %d MB after warm-up, %d MB at the end (%+d MB) in %.0f s%n",
          n, what, MODEL, warm / 1024, end / 1024, (end - warm) / 1024, (System.nanoTime() - start) / 1e9);
      assertTrue(end - warm < LIMIT_KB, what + ": resident memory grew by " + (end - warm) / 1024 + " MB");
    }
  }
}
