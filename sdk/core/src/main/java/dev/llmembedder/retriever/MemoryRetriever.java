package dev.llmembedder.retriever;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.index.DocumentIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Memory retrieval (LLM-Embedder's lrlm and chat tasks): one named, append-only stream of text, such as a long
 * document or a conversation, cut into chunks; a query finds the earlier chunks that help the LLM continue.
 *
 * <p><b>Chunks.</b> In {@link Mode#DOCUMENT} mode appended text continues the stream and is cut into chunks of
 * {@code chunkTokens} tokens of the encoder's tokenizer (LLM-Embedder's long-range language modeling uses 128); the
 * chunks concatenated give back the stream exactly. In {@link Mode#CONVERSATION} mode every append is one turn and one
 * chunk. Appending is incremental: only new chunks are encoded, plus the partly filled last chunk when it grows.
 *
 * <p><b>Retrieval.</b> The query (by default the most recent chunk) is matched against the chunks outside the recent
 * window (the last {@code recentTokens} tokens, which the LLM already sees); those are never returned. A hit on chunk
 * {@code i} comes with chunk {@code i + 1}, its continuation; overlapping or adjacent spans are merged, and spans come
 * in stream order, not score order. Instructions: lrlm for documents, chat for conversations.
 *
 * <p>Thread-safe: appends are serialised; retrievals run concurrently and see every append that returned.
 *
 * <p><b>Durability.</b> Changes are held in memory and seen by retrievals as soon as they return; they reach disk
 * only through {@link #save(Path)}, which writes the whole collection atomically (a crash leaves the previous save
 * readable), or, inside an {@link dev.llmembedder.LlmEmbedder}, through its {@code commit()}, whose contract applies.
 */
public final class MemoryRetriever {
  /** What the memory holds. */
  public enum Mode {
    /** A long document: appends continue the text, chunked by tokens; the lrlm instructions. */
    DOCUMENT(Task.LRLM),
    /** A conversation: one turn per append and per chunk; the chat instructions. */
    CONVERSATION(Task.CHAT);

    private final Task task;

    Mode(Task task) {
      this.task = task;
    }

    /** The LLM-Embedder task whose instructions this mode uses. */
    public Task task() {
      return task;
    }
  }

  /**
   * How a memory chunks and what it keeps out of results.
   *
   * @param mode document (token chunks, lrlm) or conversation (one turn per chunk, chat)
   * @param chunkTokens tokens per chunk in {@link Mode#DOCUMENT} mode, at least 1
   * @param recentTokens the most recent tokens, which the LLM already sees and retrieval never returns; 0 or more
   */
  public record Settings(Mode mode, int chunkTokens, int recentTokens) {
    /** @throws IllegalArgumentException naming a bound that is out of range */
    public Settings {
      Objects.requireNonNull(mode, "mode");
      if (chunkTokens < 1) {
        throw new IllegalArgumentException("chunkTokens is " + chunkTokens + "; must be at least 1");
      }
      if (recentTokens < 0) {
        throw new IllegalArgumentException("recentTokens is " + recentTokens + "; must be 0 or more");
      }
    }

    /** {@code mode} with LLM-Embedder's defaults: 128-token chunks, 2,048 recent tokens. */
    public static Settings of(Mode mode) {
      return new Settings(mode, DEFAULT_CHUNK_TOKENS, DEFAULT_RECENT_TOKENS);
    }

    /** The same settings with another recent window. */
    public Settings withRecentTokens(int tokens) {
      return new Settings(mode, chunkTokens, tokens);
    }

    /** The same settings with another chunk length. */
    public Settings withChunkTokens(int tokens) {
      return new Settings(mode, tokens, recentTokens);
    }
  }

  /**
   * Consecutive chunks returned for a query.
   *
   * @param firstChunk index of the first chunk in the stream (0-based)
   * @param lastChunk index of the last chunk, inclusive
   * @param text the chunks' text as in the stream: a document's chunks concatenated (they cut the text losslessly), a
   *     conversation's turns one per line (a {@code '\n'} between two turns unless the first already ends with one)
   * @param score the best score of the hits that brought this span
   */
  public record MemorySpan(int firstChunk, int lastChunk, String text, float score) {}

  /** Chunk metadata: the memory's mode, and the chunk's length in tokens (for the recent window after reopening). */
  private static final String MODE = "mode";
  private static final String TOKENS = "tokens";

  /** The defaults of LLM-Embedder's long-range language modeling setup: 128-token chunks, 2,048 recent tokens. */
  public static final int DEFAULT_CHUNK_TOKENS = 128;
  public static final int DEFAULT_RECENT_TOKENS = 2048;

  private final Encoder encoder;
  private final DocumentIndex index;
  private final String name;
  private final Mode mode;
  private final int chunkTokens;
  private final int recentTokens;
  private final int specialTokens;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  // guarded by lock
  private final List<String> chunks = new ArrayList<>();
  private final List<Integer> chunkTokenCounts = new ArrayList<>();

  /**
   * A memory over {@code index}: empty, or reopened from an index this class wrote (saved with
   * {@link DocumentIndex#save}), whose chunks it restores.
   *
   * @param encoder encodes chunks and queries; not closed by this memory
   * @param index holds the chunk embeddings; empty or written by a memory of the same mode, with the encoder's
   *     dimension
   * @param name the memory's name, for messages
   * @param settings mode, chunk length and recent window
   * @throws IllegalArgumentException for a dimension mismatch or an index that does not hold a memory of this mode
   */
  public MemoryRetriever(Encoder encoder, DocumentIndex index, String name, Settings settings) {
    this.encoder = Objects.requireNonNull(encoder, "encoder");
    this.index = Objects.requireNonNull(index, "index");
    this.name = Objects.requireNonNull(name, "name");
    this.mode = settings.mode();
    if (index.dimension() != encoder.dimension()) {
      throw new IllegalArgumentException("memory '" + name + "' needs an index of dimension " + encoder.dimension()
          + "; got " + index.dimension());
    }
    this.chunkTokens = settings.chunkTokens();
    this.recentTokens = settings.recentTokens();
    this.specialTokens = encoder.countTokens("");
    for (int i = 0, n = index.size(); i < n; i++) { // reopening: chunk i is stored under id "i"
      Document chunk = index.get(Integer.toString(i));
      if (chunk == null || !mode.name().equals(chunk.metadata().get(MODE))) {
        throw new IllegalArgumentException("memory '" + name + "': its index does not hold " + mode
            + " chunks 0.." + (n - 1) + " (chunk " + i + " is " + (chunk == null ? "missing" : "of mode "
            + chunk.metadata().get(MODE)) + ")");
      }
      chunks.add(chunk.text());
      chunkTokenCounts.add(Integer.parseInt(chunk.metadata().get(TOKENS)));
    }
  }

  /**
   * Appends text: in {@link Mode#DOCUMENT} mode it continues the stream (a word split across two appends is
   * tokenized as two words only when the last chunk was already full); in {@link Mode#CONVERSATION} mode it is one
   * turn. An empty string appends nothing.
   *
   * @throws IllegalArgumentException if {@code text} is null, or a whitespace-only turn or start of a document
   */
  public void append(String text) {
    if (text == null) {
      throw new IllegalArgumentException("text to append to memory '" + name + "' is null");
    }
    if (text.isEmpty()) {
      return;
    }
    lock.writeLock().lock();
    try {
      int first = chunks.size();
      String tail = text;
      if (mode == Mode.DOCUMENT && first > 0 && chunkTokenCounts.get(first - 1) < chunkTokens) {
        first--; // the partly filled last chunk grows: re-chunk and re-encode it with the new text
        tail = chunks.get(first) + text;
      }
      if (!RetrieverChecks.hasText(tail)) {
        throw new IllegalArgumentException("text to append to memory '" + name + "' is only whitespace or invisible"
            + " characters (" + text.length() + " chars); a " + (mode == Mode.DOCUMENT ? "document must start" : "turn must have")
            + " with text");
      }
      List<String> pieces = mode == Mode.DOCUMENT ? encoder.chunk(tail, chunkTokens) : List.of(tail);
      float[][] embeddings = encoder.encodeKeys(pieces, mode.task());
      List<Document> docs = new ArrayList<>(pieces.size());
      int[] tokens = new int[pieces.size()];
      for (int j = 0; j < pieces.size(); j++) {
        tokens[j] = pieces.get(j).isBlank() ? 0 : encoder.countTokens(pieces.get(j)) - specialTokens;
        docs.add(new Document(Integer.toString(first + j), "", pieces.get(j),
            Map.of(MODE, mode.name(), TOKENS, Integer.toString(tokens[j]))));
      }
      index.addAll(docs, embeddings);
      while (chunks.size() > first) {
        chunks.remove(chunks.size() - 1);
        chunkTokenCounts.remove(chunkTokenCounts.size() - 1);
      }
      for (int j = 0; j < pieces.size(); j++) {
        chunks.add(pieces.get(j));
        chunkTokenCounts.add(tokens[j]);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * The mode of the memory whose chunks {@code index} holds, or {@code fallback} when it is empty: for reopening a
   * saved memory without knowing its mode.
   */
  public static Mode storedMode(DocumentIndex index, Mode fallback) {
    Document first = index.get("0");
    return first == null ? fallback : Mode.valueOf(first.metadata().get(MODE));
  }

  /** Retrieves with the most recent chunk (turn) as the query; see {@link #retrieve(String, int)}. */
  public List<MemorySpan> retrieve(int k) {
    String last;
    lock.readLock().lock();
    try {
      if (chunks.isEmpty()) {
        return List.of();
      }
      last = chunks.get(chunks.size() - 1);
    } finally {
      lock.readLock().unlock();
    }
    return retrieve(last, k);
  }

  /**
   * The chunks outside the recent window that best match {@code query}, each with its continuation, merged into
   * spans in stream order.
   *
   * @param k hits to look for (each brings its next chunk), at least 1
   * @return spans in stream order; empty when no chunk lies outside the recent window
   * @throws IllegalArgumentException if {@code query} is null or only whitespace, or {@code k < 1}
   */
  public List<MemorySpan> retrieve(String query, int k) {
    RetrieverChecks.topK(k);
    return search(encoder.encodeQuery(query, mode.task()), k);
  }

  /**
   * As {@link #retrieve(String, int)}, with a query already encoded: the chunks outside the recent window nearest
   * {@code queryEmbedding}, each with its continuation, merged into spans in stream order.
   *
   * @param queryEmbedding {@code float[dimension]}, encoded by {@link #encoder()} with the query instruction of this
   *     memory's {@linkplain Mode#task() task}
   * @param k hits to look for (each brings its next chunk), at least 1
   * @return spans in stream order; empty when no chunk lies outside the recent window
   * @throws IllegalArgumentException if {@code k < 1} or the embedding has the wrong dimension
   */
  public List<MemorySpan> search(float[] queryEmbedding, int k) {
    RetrieverChecks.topK(k);
    float[] q = Objects.requireNonNull(queryEmbedding, "queryEmbedding");
    if (q.length != encoder.dimension()) { // checked here too: with nothing outside the recent window, no search runs
      throw new IllegalArgumentException("queryEmbedding has dimension " + q.length + "; memory '" + name
          + "' needs dimension " + encoder.dimension());
    }
    lock.readLock().lock();
    try {
      int recentStart = recentStart();
      if (recentStart == 0) {
        return List.of();
      }
      List<DocumentHit> hits = index.search(q, k, d -> Integer.parseInt(d.id()) < recentStart);
      float[] best = new float[recentStart];
      boolean[] hit = new boolean[recentStart];
      for (DocumentHit h : hits) {
        int i = Integer.parseInt(h.document().id());
        for (int j = i; j <= Math.min(i + 1, recentStart - 1); j++) {
          best[j] = hit[j] ? Math.max(best[j], h.score()) : h.score();
          hit[j] = true;
        }
      }
      List<MemorySpan> spans = new ArrayList<>();
      for (int i = 0; i < recentStart; i++) {
        if (!hit[i]) {
          continue;
        }
        int start = i;
        float score = best[i];
        StringBuilder text = new StringBuilder();
        while (i < recentStart && hit[i]) { // adjacent or overlapping spans merge
          String chunk = chunks.get(i);
          if (mode == Mode.CONVERSATION && !text.isEmpty() && text.charAt(text.length() - 1) != '\n') {
            text.append('\n');
          }
          text.append(chunk);
          score = Math.max(score, best[i]);
          i++;
        }
        spans.add(new MemorySpan(start, i - 1, text.toString(), score));
      }
      return spans;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The chunks so far, in stream order (a copy). */
  public List<String> chunks() {
    lock.readLock().lock();
    try {
      return List.copyOf(chunks);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Index of the first chunk that overlaps the last {@code recentTokens} tokens. Caller holds the lock. */
  int recentStart() {
    int i = chunks.size();
    int tokens = 0;
    while (i > 0 && tokens < recentTokens) {
      tokens += chunkTokenCounts.get(--i);
    }
    return i;
  }

  /** The memory's name. */
  public String name() {
    return name;
  }

  /** The encoder this memory embeds chunks and queries with. */
  public Encoder encoder() {
    return encoder;
  }

  /** The memory's mode. */
  public Mode mode() {
    return mode;
  }

  /** Whether nothing has been appended. */
  public boolean isEmpty() {
    lock.readLock().lock();
    try {
      return chunks.isEmpty();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Writes the chunks and their embeddings to {@code directory} atomically (see {@link DocumentIndex#save}).
   *
   * @throws IOException if writing fails; the previously saved version stays readable
   */
  public void save(Path directory) throws IOException {
    lock.readLock().lock(); // no append between the chunk list and the index
    try {
      index.save(directory);
    } finally {
      lock.readLock().unlock();
    }
  }
}
