package dev.llmembedder;

import dev.llmembedder.context.ContextBuilder;
import dev.llmembedder.encoder.Device;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.MemoryRetriever.Settings;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.KeyField;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

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
 * <p><b>Retrievers.</b> {@link #knowledge()} (passages for a question), {@link #memory(String)} (named long documents
 * and conversations), {@link #examples()} (in-context demonstrations), {@link #tools()} (tools by description, handed
 * back as APIs); {@link #context(String)} combines them.
 *
 * <p><b>Storage.</b> Without a storage directory everything lives in memory. With one, {@link #commit()} writes each
 * collection ({@code knowledge/}, {@code examples/}, {@code tools/}, {@code memories/<name>/}) atomically under it,
 * {@link #close()} commits, and the next {@code build()} on the same directory reopens them. A directory written with
 * one model cannot be opened with another: the embeddings would not be comparable.
 *
 * <p><b>Durability contract.</b>
 * <ul>
 *   <li><i>Visibility.</i> An add, delete, memory append or tool registration is seen by every retrieval and context
 *       that starts after it returned, in this process. It is not on disk yet.
 *   <li><i>Durability.</i> When {@link #commit()} (or {@link #close()}) returns, every change that returned before the
 *       commit started is on disk and is what the next {@code build()} on the directory sees, even after the
 *       process is killed (files and directory entries are fsynced, so power loss is covered as far as the disk
 *       honours fsync; the tests kill the process). Changes made after the last commit returned are lost by a crash;
 *       changes made while a commit runs may or may not be in it.
 *   <li><i>Atomicity.</i> Each collection is committed atomically (one manifest rename): after a crash at any moment
 *       it opens as exactly the version of one commit, never half-written, with every file checked against its
 *       CRC32C. Collections are committed one after another, not together: a crash during a commit may leave
 *       {@code knowledge/} at the new commit and a memory at the previous one. No repair step is ever needed; files
 *       of an interrupted commit are ignored and cleaned up by the next one.
 *   <li><i>Failure.</i> A commit that fails throws {@link UncheckedIOException} naming the collection's directory;
 *       the previous commit stays readable and the changes stay in memory, so the commit can be retried.
 *   <li><i>One writer.</i> The embedder holds an exclusive OS file lock on {@code embedder.lock} in the directory
 *       from {@code build()} to {@link #close()}; a second embedder on the same directory, in this JVM or another
 *       process, gets an {@link IllegalStateException} naming the directory. The lock dies with its process.
 * </ul>
 *
 * <p><b>Thread-safety.</b> Thread-safe: share one instance; retrievals and context building may run from any number
 * of threads while others add, delete and append (a retrieval never returns a document whose delete returned before
 * it started). {@link #commit()} and {@link #close()} may be called from any thread; writes wait while a commit
 * saves the collection they write to, retrievals do not.
 * Context building runs its searches on a pool of platform daemon threads owned by this embedder (one per core, at
 * least two), stopped by {@link #close()}.
 */
public final class LlmEmbedder implements AutoCloseable {
  private static final String KNOWLEDGE_DIR = "knowledge";
  private static final String EXAMPLES_DIR = "examples";
  private static final String TOOLS_DIR = "tools";
  private static final String MEMORIES_DIR = "memories";
  private static final Pattern MEMORY_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  private final Encoder encoder;
  private final boolean ownsEncoder;
  private final Path storage;
  /** Held from construction to {@link #close()} when there is a storage directory; null without one. */
  private final StorageLock lock;
  private final DocumentIndex knowledgeIndex;
  private final KnowledgeRetriever knowledge;
  private final DocumentIndex examplesIndex;
  private final ExampleRetriever examples;
  private final DocumentIndex toolsIndex;
  private final ToolRetriever tools;
  private final Map<String, MemoryRetriever> memories = new ConcurrentHashMap<>();
  private final Map<String, DocumentIndex> memoryIndexes = new ConcurrentHashMap<>();
  /** Runs the query encodings and searches of context building; shut down by {@link #close()}. */
  private final ExecutorService contextExecutor;
  private boolean closed;

  private LlmEmbedder(Encoder encoder, boolean ownsEncoder, Path storage, Set<KeyField> toolKey) {
    this.encoder = encoder;
    this.ownsEncoder = ownsEncoder;
    this.storage = storage;
    this.lock = storage == null ? null : StorageLock.acquire(storage);
    List<DocumentIndex> opened = new ArrayList<>(3);
    try {
      if (storage != null) {
        StorageManifest.checkOrCreate(storage, encoder);
      }
      this.knowledgeIndex = openOrCreate(KNOWLEDGE_DIR);
      opened.add(knowledgeIndex);
      this.knowledge = new KnowledgeRetriever(encoder, knowledgeIndex);
      this.examplesIndex = openOrCreate(EXAMPLES_DIR);
      opened.add(examplesIndex);
      this.examples = new ExampleRetriever(encoder, examplesIndex);
      this.toolsIndex = openOrCreate(TOOLS_DIR);
      opened.add(toolsIndex);
      this.tools = new ToolRetriever(encoder, toolsIndex, toolKey);
    } catch (RuntimeException | Error e) {
      // a damaged or foreign store: release what was opened and the directory, so a retry can succeed
      opened.forEach(DocumentIndex::close);
      if (lock != null) {
        lock.close();
      }
      throw e;
    }
    this.contextExecutor = newContextExecutor();
  }

  /**
   * Platform daemon threads, one per core (at least 2): a context's searches are short and CPU-bound, and the common
   * fork-join pool has a single thread on a 2-core machine.
   */
  private static ExecutorService newContextExecutor() {
    AtomicInteger count = new AtomicInteger();
    return Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
      Thread t = new Thread(r, "llm-embedder-context-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** The collection saved under {@code storage/relative}, or a new empty one (always, without storage). */
  private DocumentIndex openOrCreate(String relative) {
    if (storage != null) {
      Path dir = storage.resolve(relative);
      if (Files.exists(dir.resolve("manifest.json"))) {
        try {
          return DocumentIndex.open(dir);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot open the collection in " + dir + ": " + e.getMessage(), e);
        }
      }
    }
    return DocumentIndex.create(encoder.dimension());
  }

  /** A builder; with no settings it uses the embedded {@link ModelPreset#BGE_SMALL_EN_V15} on the CPU, in memory. */
  public static Builder builder() {
    return new Builder();
  }

  /** Knowledge retrieval: passages for a question. */
  public KnowledgeRetriever knowledge() {
    return knowledge;
  }

  /** Example retrieval: in-context demonstrations for a new task input. */
  public ExampleRetriever examples() {
    return examples;
  }

  /** Tool retrieval: tools by description, handed back as their APIs. */
  public ToolRetriever tools() {
    return tools;
  }

  /**
   * The memory called {@code name}: reopened from the storage directory in the mode it was saved in, or created as a
   * {@link Mode#DOCUMENT} memory with LLM-Embedder's defaults (128-token chunks, 2,048 recent tokens).
   *
   * @param name 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names a directory)
   * @throws IllegalArgumentException for a name outside that alphabet
   */
  public MemoryRetriever memory(String name) {
    return memory(name, (Settings) null);
  }

  /** Shorthand for {@code memory(name, Settings.of(mode))}. */
  public MemoryRetriever memory(String name, Mode mode) {
    return memory(name, Settings.of(mode));
  }

  /**
   * The memory called {@code name} with {@code settings}: reopened or created as in {@link #memory(String)}. The mode
   * is saved with the memory; chunk length and recent window apply to this session (the first call that opens the
   * memory sets them).
   *
   * @throws IllegalArgumentException for a bad name, or when the memory exists in another mode
   */
  public MemoryRetriever memory(String name, Settings settings) {
    Mode mode = settings == null ? null : settings.mode();
    if (name == null || !MEMORY_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("memory name '" + name + "' is not allowed: use 1 to 64 letters, digits,"
          + " '.', '_' or '-', starting with a letter or digit");
    }
    MemoryRetriever memory = memories.computeIfAbsent(name, n -> {
      DocumentIndex index = openOrCreate(MEMORIES_DIR + "/" + n);
      memoryIndexes.put(n, index);
      Mode stored = MemoryRetriever.storedMode(index, mode != null ? mode : Mode.DOCUMENT);
      Settings base = settings != null ? settings : Settings.of(stored);
      return new MemoryRetriever(encoder, index, n, new Settings(stored, base.chunkTokens(), base.recentTokens()));
    });
    if (mode != null && memory.mode() != mode) {
      throw new IllegalArgumentException("memory '" + name + "' is a " + memory.mode() + " memory, not " + mode);
    }
    return memory;
  }

  /**
   * Starts a prompt context for {@code query}; say which retrievers to consult (and optionally a token budget and a
   * template), then {@code build()}, which encodes the query once per distinct query instruction and runs the
   * searches concurrently on this embedder's threads. For example
   * {@code embedder.context(q).knowledge(3).memory("book", 2).examples(2).tools(2).maxTokens(1024).build()}.
   *
   * @throws IllegalArgumentException if the query is null or only whitespace
   */
  public ContextBuilder context(String query) {
    return new ContextBuilder(query, knowledge, examples, tools, this::existingMemory, contextExecutor);
  }

  private MemoryRetriever existingMemory(String name) {
    MemoryRetriever memory = memories.get(name);
    if (memory == null && storage != null && name != null && MEMORY_NAME.matcher(name).matches()
        && Files.exists(storage.resolve(MEMORIES_DIR).resolve(name).resolve("manifest.json"))) {
      memory = memory(name);
    }
    if (memory == null) {
      throw new IllegalArgumentException("unknown memory '" + name + "'; known: " + new TreeSet<>(memories.keySet())
          + " (create one with embedder.memory(name))");
    }
    return memory;
  }

  /** The encoder in use (shared; do not close it). */
  public Encoder encoder() {
    return encoder;
  }

  /**
   * Makes every change that returned before this call durable: writes each collection to the storage directory
   * atomically and fsyncs it (see the durability contract in the class documentation). Without a storage directory
   * this does nothing. Its cost grows with the collections' size (each commit rewrites the collections in full), so
   * commit after a batch of changes, not after each one, when throughput matters.
   *
   * @throws java.io.UncheckedIOException if writing fails (the message names the collection's directory); the
   *     previous committed version stays readable and the changes stay in memory
   * @throws IllegalStateException if the embedder is closed
   */
  public synchronized void commit() {
    if (closed) {
      throw new IllegalStateException("embedder is closed");
    }
    if (storage == null) {
      return;
    }
    Path dir = storage.resolve(KNOWLEDGE_DIR);
    try {
      knowledge.save(dir);
      dir = storage.resolve(EXAMPLES_DIR);
      examples.save(dir);
      dir = storage.resolve(TOOLS_DIR);
      tools.save(dir);
      for (MemoryRetriever memory : memories.values()) {
        dir = storage.resolve(MEMORIES_DIR).resolve(memory.name());
        memory.save(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot commit the collection to " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Commits (when there is a storage directory), then stops the context threads (a context being built fails with
   * {@link IllegalStateException}), releases the indexes, the storage directory's lock and, if this embedder made it,
   * the encoder. Everything is released even when the commit or one of the releases throws; the first such
   * exception is then thrown, with the later ones {@linkplain Throwable#getSuppressed() suppressed}.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    RuntimeException failure = null;
    try {
      commit();
    } catch (RuntimeException e) {
      failure = e;
    }
    closed = true;
    contextExecutor.shutdown();
    List<Runnable> releases = new ArrayList<>();
    releases.add(knowledgeIndex::close);
    releases.add(examplesIndex::close);
    releases.add(toolsIndex::close);
    memoryIndexes.values().forEach(index -> releases.add(index::close));
    if (lock != null) {
      releases.add(lock::close);
    }
    if (ownsEncoder) {
      releases.add(encoder::close);
    }
    for (Runnable release : releases) {
      try {
        release.run();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Builds an {@link LlmEmbedder}. Not thread-safe. */
  public static final class Builder {
    private final Encoder.Builder encoderBuilder = Encoder.builder();
    private Encoder sharedEncoder;
    private boolean adapterSet;
    private Path storage;
    private Set<KeyField> toolKey = ToolRetriever.DEFAULT_KEY;

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

    /**
     * A {@link QueryAdapter} file applied to every query embedding (knowledge, memory, examples, tools and context
     * building all encode queries through it); keys and stored collections are unaffected, so a store built without
     * the adapter opens with it. See {@link Encoder.Builder#queryAdapter(Path)}; not combinable with
     * {@link #encoder(Encoder)} (give that encoder its adapter instead).
     */
    public Builder queryAdapter(Path file) {
      encoderBuilder.queryAdapter(file);
      adapterSet = true;
      return this;
    }

    /** An adapter in memory; as {@link #queryAdapter(Path)}. */
    public Builder queryAdapter(QueryAdapter adapter) {
      encoderBuilder.queryAdapter(adapter);
      adapterSet = true;
      return this;
    }

    /** Persist collections under this directory (created if missing); reopened when it holds a committed store. */
    public Builder storageDirectory(Path directory) {
      this.storage = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /**
     * What goes into the embedded key of each tool (default {@link ToolRetriever#DEFAULT_KEY}: name, description and
     * parameters); applies to tools added from now on.
     *
     * @throws IllegalArgumentException if {@code fields} is empty
     */
    public Builder toolKey(Set<KeyField> fields) {
      if (Objects.requireNonNull(fields, "fields").isEmpty()) {
        throw new IllegalArgumentException("tool key fields are empty; name at least one of "
            + EnumSet.allOf(KeyField.class));
      }
      this.toolKey = Set.copyOf(fields);
      return this;
    }

    /**
     * Loads the model and opens the storage directory.
     *
     * @throws IllegalArgumentException for a broken model, a broken query adapter file or one trained for another
     *     model, or a storage directory written with another model
     * @throws IllegalStateException if both {@link #queryAdapter} and {@link #encoder(Encoder)} were given, or another
     *     embedder (in this JVM or another process) has the storage directory open
     * @throws UncheckedIOException if the storage directory cannot be created, written or read (the message names the
     *     directory or the damaged file)
     */
    public LlmEmbedder build() {
      if (sharedEncoder != null && adapterSet) {
        throw new IllegalStateException("queryAdapter(...) configures the encoder this builder makes, but encoder(...)"
            + " supplied one: build that encoder with Encoder.Builder.queryAdapter(...) instead");
      }
      if (sharedEncoder != null) {
        return new LlmEmbedder(sharedEncoder, false, storage, toolKey);
      }
      Encoder encoder = encoderBuilder.build();
      try {
        return new LlmEmbedder(encoder, true, storage, toolKey);
      } catch (RuntimeException | Error e) {
        encoder.close();
        throw e;
      }
    }
  }
}
