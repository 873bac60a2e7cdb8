package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.util.NativeResource;
import ai.onnxruntime.OrtSession;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentIndex;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code close()} releases every native and thread resource, checked object by object rather than through resident
 * memory ({@link NativeMemoryTest} measures that): after the facade closes, the encoder's ONNX Runtime session and
 * DJL tokenizer are released, its run threads and the context threads are shut down, and every index (knowledge,
 * examples, tools, each memory) and its jvector graph are closed. ONNX Runtime tensors and results live only inside
 * one model run, in try-with-resources (read in {@code Encoder.run}); this test cannot see them, the RSS test would.
 * The objects are reached by reflection on private fields: a renamed field fails the test rather than passing it.
 */
class NativeResourcesTest {
  @Test
  void closingTheFacadeReleasesTheSessionTokenizerThreadsIndexesAndGraphs(@TempDir Path dir) throws Exception {
    LlmEmbedder embedder = LlmEmbedder.builder().model(ModelPreset.BGE_SMALL_EN_V15_INT8).storageDirectory(dir)
        .build();
    embedder.knowledge().add(Document.of("p1", "The Nile is a river in Africa."));
    embedder.memory("chat").append("I like rivers.");
    embedder.context("Which river is in Africa?").knowledge(1).memory("chat", 1).build();
    Encoder encoder = embedder.encoder();
    OrtSession session = field(encoder, "session");
    NativeResource<?> tokenizer = field(field(encoder, "tokenizer"), "tokenizer");
    ExecutorService runners = field(encoder, "runners");
    ExecutorService contextThreads = field(embedder, "contextExecutor");
    List<DocumentIndex> indexes = new ArrayList<>();
    for (String name : List.of("knowledgeIndex", "examplesIndex", "toolsIndex")) {
      indexes.add(field(embedder, name));
    }
    Map<String, DocumentIndex> memories = field(embedder, "memoryIndexes");
    assertEquals(1, memories.size(), "the memory opened: " + memories.keySet());
    indexes.addAll(memories.values());
    assertFalse((boolean) field(session, "closed"));
    assertFalse(tokenizer.isReleased());

    embedder.close();

    assertTrue((boolean) field(session, "closed"), "the ONNX Runtime session is closed");
    assertTrue(tokenizer.isReleased(), "the DJL tokenizer is released");
    assertTrue(runners.isShutdown() && contextThreads.isShutdown(), "the encoder's and the context threads stop");
    for (DocumentIndex index : indexes) {
      assertTrue((boolean) field(index, "closed"), "index closed");
      Object vectors = field(index, "vectors");
      assertTrue((boolean) field(vectors, "closed"), "vector index closed");
      assertNull(field(vectors, "graph"), "jvector graph closed and dropped");
    }
  }

  @Test
  void closingAnEncoderReleasesItsSessionAndTokenizer() throws Exception {
    Encoder encoder = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).build();
    encoder.encodeKeys(List.of("a text"), dev.llmembedder.encoder.Task.QA);
    OrtSession session = field(encoder, "session");
    NativeResource<?> tokenizer = field(field(encoder, "tokenizer"), "tokenizer");
    encoder.close();
    assertTrue((boolean) field(session, "closed"), "the ONNX Runtime session is closed");
    assertTrue(tokenizer.isReleased(), "the DJL tokenizer is released");
    assertTrue(((ExecutorService) field(encoder, "runners")).isShutdown(), "the run threads stop");
  }

  @SuppressWarnings("unchecked")
  private static <T> T field(Object owner, String name) throws ReflectiveOperationException {
    for (Class<?> c = owner.getClass(); c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return (T) f.get(owner);
      } catch (NoSuchFieldException e) {
        // look in the superclass
      }
    }
    throw new NoSuchFieldException(owner.getClass() + " has no field " + name);
  }
}
