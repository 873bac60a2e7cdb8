package dev.llmembedder.index;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;

/**
 * {@link Document}s with their embeddings, searchable by embedding similarity: a {@link VectorIndex} keyed by
 * document id plus the documents themselves. Scores are exact dot products, as in {@link VectorIndex}.
 *
 * <pre>{@code
 * try (DocumentIndex index = DocumentIndex.create(384)) {
 *     index.add(Document.of("faq-1", "How do I reset my password?"), embedding);
 *     List<DocumentHit> hits = index.search(queryEmbedding, 5);
 *     index.save(Path.of("faq-index"));
 * }
 * }</pre>
 *
 * <p><b>Persistence.</b> {@link #save(Path)} writes the documents (JSON lines, {@code documents-<gen>.jsonl}),
 * the vectors and the graph as one generation committed by a single {@code manifest.json}, so after a crash
 * documents and embeddings can never disagree: an opened index is exactly one saved version. The crash-safety
 * and checksum guarantees are those of {@link VectorIndex#save(Path)}.
 *
 * <p><b>Thread safety.</b> Instances are thread-safe, with the contract of {@link VectorIndex}: concurrent
 * searches, reads and saves; serialised writes that exclude searches while they run; a search sees every
 * write that returned before it started. After {@link #close()} every method except {@code close} throws
 * {@link IllegalStateException}.
 */
public final class DocumentIndex implements AutoCloseable {
  static final String KIND = "document-index";
  private static final String DOCUMENTS = "documents";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final ReentrantLock saveLock = new ReentrantLock();
  private final VectorIndex vectors;
  // guarded by lock
  private final Map<String, Document> documents;
  private boolean closed;

  private DocumentIndex(VectorIndex vectors, Map<String, Document> documents) {
    this.vectors = vectors;
    this.documents = documents;
  }

  /**
   * Creates an empty index with the default {@link VectorIndex.Builder} settings.
   *
   * @param dimension the length of every embedding, at least 1
   * @return a new, open index
   * @throws IllegalArgumentException if {@code dimension < 1}
   */
  public static DocumentIndex create(int dimension) {
    return create(VectorIndex.builder(dimension));
  }

  /**
   * Creates an empty index whose embeddings are indexed with the settings of {@code settings}.
   *
   * @param settings dimension, search mode and graph parameters; read once, not retained
   * @return a new, open index
   * @throws NullPointerException if {@code settings} is null
   */
  public static DocumentIndex create(VectorIndex.Builder settings) {
    Objects.requireNonNull(settings, "settings must not be null");
    return new DocumentIndex(settings.build(), new LinkedHashMap<>());
  }

  /**
   * Adds {@code document} with its embedding, replacing any document with the same id.
   *
   * @param document  the document; not null
   * @param embedding {@code float[dimension()]} with finite components; copied
   * @throws NullPointerException     if an argument is null
   * @throws IllegalArgumentException if {@code embedding} has the wrong dimension, a NaN or infinite component or
   *                                  an L2 norm over 1e19
   * @throws IllegalStateException    if the index is closed
   */
  public void add(Document document, float[] embedding) {
    Objects.requireNonNull(document, "document must not be null");
    lock.writeLock().lock();
    try {
      ensureOpen();
      vectors.add(document.id(), embedding); // checks the embedding before anything changes
      documents.put(document.id(), document);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Adds {@code documents.get(i)} with {@code embeddings[i]} for every {@code i}, replacing documents with
   * the same ids. Either all are added or, if an argument check fails, none is.
   *
   * @param documents  the documents; not null, no id twice
   * @param embeddings {@code float[documents.size()][dimension()]} with finite components; copied
   * @throws NullPointerException     if an argument, a document or an embedding is null
   * @throws IllegalArgumentException if the sizes differ, an id repeats, or an embedding has the wrong
   *                                  dimension, a NaN or infinite component or an L2 norm over 1e19
   * @throws IllegalStateException    if the index is closed
   */
  public void addAll(List<Document> documents, float[][] embeddings) {
    Objects.requireNonNull(documents, "documents must not be null");
    List<String> ids = new ArrayList<>(documents.size());
    for (int i = 0; i < documents.size(); i++) {
      ids.add(Objects.requireNonNull(documents.get(i), "documents[" + i + "] must not be null").id());
    }
    lock.writeLock().lock();
    try {
      ensureOpen();
      vectors.addAll(ids, embeddings, "documents", "embeddings"); // checks all before anything changes
      for (Document document : documents) {
        this.documents.put(document.id(), document);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Removes the document with {@code id} and its embedding.
   *
   * @param id the document id; not null
   * @return true if a document was removed
   * @throws NullPointerException  if {@code id} is null
   * @throws IllegalStateException if the index is closed
   */
  public boolean delete(String id) {
    Objects.requireNonNull(id, "id must not be null");
    lock.writeLock().lock();
    try {
      ensureOpen();
      documents.remove(id);
      return vectors.delete(id);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Returns the document with {@code id}.
   *
   * @param id the document id; not null
   * @return the document, or null if none has this id
   * @throws NullPointerException  if {@code id} is null
   * @throws IllegalStateException if the index is closed
   */
  public Document get(String id) {
    Objects.requireNonNull(id, "id must not be null");
    lock.readLock().lock();
    try {
      ensureOpen();
      return documents.get(id);
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Returns the number of documents.
   *
   * @return the number of documents
   * @throws IllegalStateException if the index is closed
   */
  public int size() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return documents.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Returns the length every embedding and query must have.
   *
   * @return the embedding dimension
   * @throws IllegalStateException if the index is closed
   */
  public int dimension() {
    lock.readLock().lock();
    try {
      ensureOpen();
      return vectors.dimension();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Returns the {@code k} documents whose embeddings have the highest dot product with {@code query}.
   *
   * @param query {@code float[dimension()]} with finite components
   * @param k     the number of hits wanted, at least 1; if fewer documents are stored, all are returned
   * @return {@code min(k, size())} hits, by score descending, ties by id ascending; exact scores
   * @throws NullPointerException     if {@code query} is null
   * @throws IllegalArgumentException if {@code k < 1}, or {@code query} has the wrong dimension or a NaN or
   *                                  infinite component
   * @throws IllegalStateException    if the index is closed
   */
  public List<DocumentHit> search(float[] query, int k) {
    lock.readLock().lock();
    try {
      ensureOpen();
      return toDocumentHits(vectors.search(query, k));
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Returns the {@code k} best documents that {@code filter} accepts. The filter is applied during the
   * search, so {@code k} hits come back whenever at least {@code k} documents pass it.
   *
   * @param query  {@code float[dimension()]} with finite components
   * @param k      the number of hits wanted, at least 1
   * @param filter accepts the documents that may be returned; called while the index is read-locked, so it
   *               must not write to this index
   * @return up to {@code k} accepted hits, by score descending, ties by id ascending; exact scores
   * @throws NullPointerException     if {@code query} or {@code filter} is null
   * @throws IllegalArgumentException if {@code k < 1}, or {@code query} has the wrong dimension or a NaN or
   *                                  infinite component
   * @throws IllegalStateException    if the index is closed
   */
  public List<DocumentHit> search(float[] query, int k, Predicate<Document> filter) {
    Objects.requireNonNull(filter, "filter must not be null");
    lock.readLock().lock();
    try {
      ensureOpen();
      return toDocumentHits(vectors.search(query, k, id -> filter.test(documents.get(id))));
    } finally {
      lock.readLock().unlock();
    }
  }

  private List<DocumentHit> toDocumentHits(List<IndexHit> hits) {
    List<DocumentHit> result = new ArrayList<>(hits.size());
    for (IndexHit hit : hits) {
      result.add(new DocumentHit(documents.get(hit.id()), hit.score()));
    }
    return result;
  }

  /**
   * Saves documents, embeddings and graph into {@code directory} (created if missing) as one new
   * generation with one {@code manifest.json} commit, crash-safely; see {@link VectorIndex#save(Path)}.
   * Writes wait while a save runs; searches do not.
   *
   * @param directory where to save
   * @throws NullPointerException  if {@code directory} is null
   * @throws IOException           if writing fails; the previously saved version, if any, is still intact
   * @throws IllegalStateException if the index is closed
   */
  public void save(Path directory) throws IOException {
    Objects.requireNonNull(directory, "directory must not be null");
    saveLock.lock();
    lock.readLock().lock();
    try {
      ensureOpen();
      Manifest.save(directory, KIND, vectors.config(), generation -> {
        Map<String, FileEntry> files = new LinkedHashMap<>(vectors.writeFiles(directory, generation));
        files.put(DOCUMENTS, AtomicFiles.write(directory,
            AtomicFiles.dataFileName(DOCUMENTS, generation, "jsonl"), out -> {
              for (Document document : documents.values()) {
                out.write(JSON.writeValueAsBytes(document));
                out.write('\n');
              }
            }));
        return files;
      });
    } finally {
      lock.readLock().unlock();
      saveLock.unlock();
    }
  }

  /**
   * Opens the index last saved into {@code directory}. Every file is checked against the size and CRC32C
   * recorded in {@code manifest.json}.
   *
   * @param directory a directory written by {@link #save(Path)}
   * @return the index as saved, returning the same search results
   * @throws NullPointerException  if {@code directory} is null
   * @throws NoSuchFileException   if {@code directory} holds no saved index
   * @throws CorruptIndexException if a file is missing, truncated, fails its checksum or cannot be parsed, or
   *                               documents and embeddings disagree; the message names the file
   * @throws IOException           if reading fails, or the directory holds a bare {@link VectorIndex}
   */
  public static DocumentIndex open(Path directory) throws IOException {
    Objects.requireNonNull(directory, "directory must not be null");
    Manifest<IndexConfig> manifest = Manifest.read(directory, KIND, IndexConfig.class);
    FileEntry documentsFile = manifest.file(DOCUMENTS, directory);
    Path documentsPath = directory.resolve(documentsFile.name());
    AtomicFiles.verify(directory, documentsFile);
    Map<String, Document> documents = new LinkedHashMap<>();
    int lineNumber = 0;
    try (BufferedReader reader = Files.newBufferedReader(documentsPath, StandardCharsets.UTF_8)) {
      for (String line; (line = reader.readLine()) != null; ) {
        lineNumber++;
        Document document;
        try {
          document = JSON.readValue(line, Document.class);
        } catch (JacksonException e) {
          throw new CorruptIndexException(documentsPath,
              "line " + lineNumber + " is not a document: " + e.getOriginalMessage(), e);
        }
        if (documents.put(document.id(), document) != null) {
          throw new CorruptIndexException(documentsPath, "document id \"" + document.id()
              + "\" appears twice (line " + lineNumber + ")");
        }
      }
    } catch (CharacterCodingException e) { // was the bare MalformedInputException, naming no file (found by Jazzer)
      throw new CorruptIndexException(documentsPath, "not valid UTF-8 at line " + (lineNumber + 1)
          + " or shortly after (" + e + ")", e);
    }
    VectorIndex vectors = VectorIndex.load(directory, manifest);
    if (vectors.size() != documents.size()
        || !documents.keySet().stream().allMatch(vectors::contains)) {
      int embeddings = vectors.size(); // before close(), after which size() throws
      vectors.close();
      throw new CorruptIndexException(documentsPath, "holds " + documents.size()
          + " documents that do not match the " + embeddings + " saved embeddings");
    }
    return new DocumentIndex(vectors, documents);
  }

  /**
   * Releases the documents, vectors and graph. Idempotent; waits for running searches and writes to finish.
   */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (!closed) {
        closed = true;
        vectors.close();
        documents.clear();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("this DocumentIndex is closed");
    }
  }
}
