package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.index.Document;
import dev.llmembedder.testing.SharedEncoders;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per storage directory: a second embedder, in this JVM or another process, gets a clear error. */
class StorageLockTest {
  private static final Encoder encoder = SharedEncoders.int8();

  @Test
  void aSecondEmbedderInTheSameJvmIsRefusedUntilTheFirstCloses(@TempDir Path store) {
    try (LlmEmbedder first = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      first.knowledge().add(Document.of("a", "The first writer's passage about lighthouses."));
      var e = assertThrows(IllegalStateException.class,
          () -> LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build());
      assertTrue(e.getMessage().contains(store.toString()) && e.getMessage().contains("in use"), e.getMessage());
      first.commit(); // the refused builder left the first one's lock and data alone
    }
    try (LlmEmbedder second = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      assertEquals(1, second.knowledge().size());
    }
  }

  @Test
  void aRefusedStoreReleasesItsLock(@TempDir Path store) {
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      embedder.knowledge().add(Document.of("a", "A passage."));
    }
    try (Encoder other = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8)
        .instructions(InstructionSet.LLM_EMBEDDER).build()) {
      assertThrows(IllegalArgumentException.class,
          () -> LlmEmbedder.builder().encoder(other).storageDirectory(store).build());
    }
    // the failed build released the directory
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      assertEquals(1, embedder.knowledge().size());
    }
  }

  @Test
  void aSecondProcessIsRefusedAndTheLockDiesWithItsHolder(@TempDir Path tmp) throws Exception {
    Path store = tmp.resolve("store");
    try (ChildJvm holder = ChildJvm.start(CrashWriter.class, List.of("-Xmx512m"),
        tmp.resolve("child.err"), "hold", store.toString())) {
      holder.expectLine("READY", 120_000);
      var e = assertThrows(IllegalStateException.class,
          () -> LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build());
      assertTrue(e.getMessage().contains(store.toString()) && e.getMessage().contains("another"), e.getMessage());
      holder.kill(); // SIGKILL: the OS drops its lock
    }
    try (LlmEmbedder embedder = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
      assertEquals(0, embedder.knowledge().size());
    }
  }
}
