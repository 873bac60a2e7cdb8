package dev.llmembedder;

import dev.llmembedder.context.ContextBuilder;
import dev.llmembedder.encoder.Device;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.KnowledgeRetriever;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The SDK's entry point: one encoder, the retrievers over it, and a fluent way to build an LLM's prompt context.
 *
 * <pre>{@code
 * try (LlmEmbedder embedder = LlmEmbedder.builder().storageDirectory(Path.of("rag-store")).build()) {
 *   embedder.knowledge().addAll(passages);
 *   PromptContext context = embedder.context("What causes tides?").knowledge(3).build();
 *   String prompt = context.render() + "\n\nQuestion: What causes tides?";
 * }
 * }</pre>
 *
 * <p><b>Storage.</b> Without a storage directory everything lives in memory. With one, {@link #commit()} writes the
 * collections atomically under it (a crash leaves the last committed version readable), {@link #close()} commits, and
 * the next {@code build()} on the same directory reopens them. A directory written with one model cannot be opened
 * with another: the embeddings would not be comparable.
 *
 * <p><b>Thread-safety.</b> Thread-safe: share one instance; retrievals and context building may run from any number
 * of threads while others add documents. {@link #commit()} and {@link #close()} may be called from any thread.
 */
public final class LlmEmbedder implements AutoCloseable {
  private static final String KNOWLEDGE_DIR = "knowledge";

  private final Encoder encoder;
  private final boolean ownsEncoder;
  private final Path storage;
  private final DocumentIndex knowledgeIndex;
  private final KnowledgeRetriever knowledge;
  private boolean closed;

  private LlmEmbedder(Encoder encoder, boolean ownsEncoder, Path storage) {
    this.encoder = encoder;
    this.ownsEncoder = ownsEncoder;
    this.storage = storage;
    DocumentIndex index = null;
    if (storage != null) {
      StorageManifest.checkOrCreate(storage, encoder);
      Path dir = storage.resolve(KNOWLEDGE_DIR);
      if (Files.exists(dir.resolve("manifest.json"))) {
        try {
          index = DocumentIndex.open(dir);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot open the knowledge collection in " + dir + ": " + e.getMessage(), e);
        }
      }
    }
    this.knowledgeIndex = index != null ? index : DocumentIndex.create(encoder.dimension());
    this.knowledge = new KnowledgeRetriever(encoder, knowledgeIndex);
  }

  /** A builder; with no settings it uses the embedded {@link ModelPreset#BGE_SMALL_EN_V15} on the CPU, in memory. */
  public static Builder builder() {
    return new Builder();
  }

  /** Knowledge retrieval: passages for a question. */
  public KnowledgeRetriever knowledge() {
    return knowledge;
  }

  /**
   * Starts a prompt context for {@code query}; say which retrievers to consult, then {@code build()}.
   *
   * @throws IllegalArgumentException if the query is null or only whitespace
   */
  public ContextBuilder context(String query) {
    return new ContextBuilder(query, knowledge);
  }

  /** The encoder in use (shared; do not close it). */
  public Encoder encoder() {
    return encoder;
  }

  /**
   * Writes every collection to the storage directory atomically. Without a storage directory this does nothing.
   *
   * @throws java.io.UncheckedIOException if writing fails; the previous committed version stays readable
   */
  public synchronized void commit() {
    if (closed) {
      throw new IllegalStateException("embedder is closed");
    }
    if (storage != null) {
      Path dir = storage.resolve(KNOWLEDGE_DIR);
      try {
        knowledge.save(dir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot commit the knowledge collection to " + dir + ": " + e.getMessage(), e);
      }
    }
  }

  /** Commits (when there is a storage directory), then releases the indexes and, if this embedder made it, the encoder. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    try {
      commit();
    } finally {
      closed = true;
      knowledgeIndex.close();
      if (ownsEncoder) {
        encoder.close();
      }
    }
  }

  /** Builds an {@link LlmEmbedder}. Not thread-safe. */
  public static final class Builder {
    private final Encoder.Builder encoderBuilder = Encoder.builder();
    private Encoder sharedEncoder;
    private Path storage;

    private Builder() {}

    /** An embedded model (default {@link ModelPreset#BGE_SMALL_EN_V15}). */
    public Builder model(ModelPreset preset) {
      encoderBuilder.preset(preset);
      return this;
    }

    /** A model directory exported by HuggingFace Optimum; see {@link Encoder.Builder#modelDirectory}. */
    public Builder modelDirectory(Path directory, ModelFamily family) {
      encoderBuilder.modelDirectory(directory, family);
      return this;
    }

    /** An encoder built elsewhere, shared with this embedder and not closed by it; overrides the model settings. */
    public Builder encoder(Encoder encoder) {
      this.sharedEncoder = Objects.requireNonNull(encoder, "encoder");
      return this;
    }

    /** Where the model runs (default {@link Device#CPU}). */
    public Builder device(Device device) {
      encoderBuilder.device(device);
      return this;
    }

    /** How many query embeddings to cache (default 10,000; 0 disables). */
    public Builder queryCacheSize(long size) {
      encoderBuilder.queryCacheSize(size);
      return this;
    }

    /** Persist collections under this directory (created if missing); reopened when it holds a committed store. */
    public Builder storageDirectory(Path directory) {
      this.storage = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /**
     * Loads the model and opens the storage directory.
     *
     * @throws IllegalArgumentException for a broken model or a storage directory written with another model
     * @throws UncheckedIOException if the storage directory cannot be read (the message names the damaged file)
     */
    public LlmEmbedder build() {
      if (sharedEncoder != null) {
        return new LlmEmbedder(sharedEncoder, false, storage);
      }
      Encoder encoder = encoderBuilder.build();
      try {
        return new LlmEmbedder(encoder, true, storage);
      } catch (RuntimeException e) {
        encoder.close();
        throw e;
      }
    }
  }
}
