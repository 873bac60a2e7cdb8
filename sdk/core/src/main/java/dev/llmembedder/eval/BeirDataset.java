package dev.llmembedder.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One split of a retrieval dataset in the <a href="https://github.com/beir-cellar/beir">BEIR</a> layout: a corpus,
 * the queries of the split, and their relevance judgments (qrels). Immutable; every map keeps the order of its
 * source file.
 *
 * <p><b>Files</b> ({@link #load}), all UTF-8:
 * <ul>
 *   <li>{@code corpus.jsonl}: one JSON object a line with string fields {@code _id}, {@code text} and optionally
 *       {@code title} (missing or {@code null} = no title); other fields ({@code metadata}) are ignored.
 *   <li>{@code queries.jsonl}: one JSON object a line with string fields {@code _id} and {@code text}; it may hold
 *       the queries of every split.
 *   <li>{@code qrels/<split>.tsv}: the header {@code query-id\tcorpus-id\tscore}, then one judgment a line: query id,
 *       document id, integer graded relevance ({@code > 0} relevant, {@code <= 0} judged non-relevant).
 * </ul>
 *
 * <p>As BEIR's {@code GenericDataLoader} does, the whole corpus is kept but only the queries that have a judgment in
 * the split. Unlike it, malformed input is rejected rather than silently overwritten or skipped: duplicate ids,
 * duplicate judgments, blank lines and a qrels query missing from {@code queries.jsonl} are errors. A judged
 * document missing from the corpus is allowed (as in BEIR and trec_eval): it counts as relevant but cannot be
 * retrieved.
 *
 * <p><b>Thread-safety.</b> Immutable (every map is an unmodifiable copy) and thread-safe.
 *
 * @param name the dataset name (the directory name for {@link #load})
 * @param corpus document id &rarr; document, in file order
 * @param queries query id &rarr; query text, for exactly the queries of {@code qrels}, in qrels order
 * @param qrels query id &rarr; document id &rarr; graded relevance; each query has at least one judgment
 * @param split the split name, e.g. {@code "test"}
 */
public record BeirDataset(
    String name,
    Map<String, CorpusDoc> corpus,
    Map<String, String> queries,
    Map<String, Map<String, Integer>> qrels,
    String split) {
  private static final Pattern SPLIT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  /**
   * Copies every map into an unmodifiable, order-keeping one.
   *
   * @throws NullPointerException if any component, key or value is null
   * @throws IllegalArgumentException if a corpus key differs from its document's id, a query has no judgment, or
   *     the query ids of {@code queries} and {@code qrels} differ
   */
  public BeirDataset {
    Objects.requireNonNull(name, "name is null");
    Objects.requireNonNull(split, "split is null");
    Objects.requireNonNull(corpus, "corpus is null");
    Objects.requireNonNull(queries, "queries is null");
    Objects.requireNonNull(qrels, "qrels is null");
    corpus.forEach((id, doc) -> {
      Objects.requireNonNull(doc, () -> "corpus document '" + id + "' is null");
      if (!doc.id().equals(id)) {
        throw new IllegalArgumentException("corpus key '" + id + "' maps to a document with id '" + doc.id()
            + "'; expected the document's own id");
      }
    });
    queries.forEach((id, text) -> Objects.requireNonNull(text, () -> "text of query '" + id + "' is null"));
    Map<String, Map<String, Integer>> judgments = new LinkedHashMap<>();
    qrels.forEach((queryId, docs) -> {
      Objects.requireNonNull(docs, () -> "qrels of query '" + queryId + "' are null");
      if (docs.isEmpty()) {
        throw new IllegalArgumentException("query '" + queryId + "' has an empty qrels map; expected at least one"
            + " judgment");
      }
      docs.forEach((docId, relevance) -> Objects.requireNonNull(relevance,
          () -> "relevance of query '" + queryId + "', document '" + docId + "' is null"));
      judgments.put(queryId, Collections.unmodifiableMap(new LinkedHashMap<>(docs)));
    });
    if (!queries.keySet().equals(qrels.keySet())) {
      Set<String> unjudged = new LinkedHashSet<>(queries.keySet());
      unjudged.removeAll(qrels.keySet());
      Set<String> untexted = new LinkedHashSet<>(qrels.keySet());
      untexted.removeAll(queries.keySet());
      throw new IllegalArgumentException("queries and qrels must have the same query ids; queries without"
          + " judgments: " + sample(unjudged) + ", judged queries without text: " + sample(untexted));
    }
    corpus = Collections.unmodifiableMap(new LinkedHashMap<>(corpus));
    queries = Collections.unmodifiableMap(new LinkedHashMap<>(queries));
    qrels = Collections.unmodifiableMap(judgments);
  }

  /**
   * Loads one split of the BEIR dataset in {@code dir}: {@code corpus.jsonl}, {@code queries.jsonl} and
   * {@code qrels/<split>.tsv} (see the class documentation). Files are streamed line by line.
   *
   * @param dir the dataset directory; its name becomes {@link #name()}
   * @param split the split, e.g. {@code "test"}, {@code "dev"} or {@code "train"}
   * @return the dataset: the whole corpus, and the queries and judgments of {@code split}
   * @throws IllegalArgumentException if {@code split} is not a plain file name ({@code [A-Za-z0-9][A-Za-z0-9._-]*})
   * @throws java.nio.file.NoSuchFileException if a file is missing
   * @throws IOException if a file cannot be read or is malformed; the message then reads
   *     {@code <file>:<line>: <problem>}, naming the field at fault
   */
  public static BeirDataset load(Path dir, String split) throws IOException {
    return load(dir, split, "queries.jsonl");
  }

  /**
   * As {@link #load(Path, String)}, with the queries read from {@code queriesFile} in {@code dir} instead of
   * {@code queries.jsonl}: for datasets that keep a split's queries apart (MetaTool's
   * {@code queries_multi_tool.jsonl}).
   *
   * @throws IllegalArgumentException if {@code split} or {@code queriesFile} is not a plain file name
   */
  public static BeirDataset load(Path dir, String split, String queriesFile) throws IOException {
    Objects.requireNonNull(dir, "dir is null");
    Objects.requireNonNull(split, "split is null");
    Objects.requireNonNull(queriesFile, "queriesFile is null");
    if (!SPLIT.matcher(queriesFile).matches()) {
      throw new IllegalArgumentException("queries file '" + queriesFile + "' is not a plain file name; expected one"
          + " matching " + SPLIT.pattern() + ", e.g. \"queries.jsonl\"");
    }
    if (!SPLIT.matcher(split).matches()) {
      throw new IllegalArgumentException("split '" + split + "' is not a plain name; expected one matching "
          + SPLIT.pattern() + ", e.g. \"test\"");
    }
    Path qrelsFile = dir.resolve("qrels").resolve(split + ".tsv");
    Map<String, Map<String, Integer>> qrels = BeirFiles.readQrels(qrelsFile);
    Map<String, String> queries = BeirFiles.readQueries(dir.resolve(queriesFile), qrelsFile, qrels.keySet());
    Map<String, CorpusDoc> corpus = BeirFiles.readCorpus(dir.resolve("corpus.jsonl"));
    Path fileName = dir.toAbsolutePath().normalize().getFileName();
    return new BeirDataset(fileName == null ? dir.toString() : fileName.toString(), corpus, queries, qrels, split);
  }

  /**
   * The part of this dataset whose ids start with {@code prefix}: those documents, and those queries with their
   * judgments of those documents (a query left with none is dropped). For datasets that pool several collections
   * under id prefixes, such as Gorilla APIBench's {@code th-}, {@code tf-} and {@code hf-} providers.
   *
   * @throws IllegalArgumentException if no query is left
   */
  public BeirDataset withIdPrefix(String prefix) {
    Objects.requireNonNull(prefix, "prefix is null");
    Map<String, CorpusDoc> docs = new LinkedHashMap<>();
    corpus.forEach((id, doc) -> {
      if (id.startsWith(prefix)) {
        docs.put(id, doc);
      }
    });
    Map<String, Map<String, Integer>> judged = new LinkedHashMap<>();
    Map<String, String> texts = new LinkedHashMap<>();
    qrels.forEach((queryId, judgments) -> {
      if (queryId.startsWith(prefix)) {
        Map<String, Integer> kept = new LinkedHashMap<>();
        judgments.forEach((docId, rel) -> {
          if (docId.startsWith(prefix)) {
            kept.put(docId, rel);
          }
        });
        if (!kept.isEmpty()) {
          judged.put(queryId, kept);
          texts.put(queryId, queries.get(queryId));
        }
      }
    });
    if (judged.isEmpty()) {
      throw new IllegalArgumentException("no query of " + name + " has an id starting with '" + prefix
          + "' and a judged document with that prefix");
    }
    return new BeirDataset(name + "/" + prefix, docs, texts, judged, split);
  }

  /** The number of (query, document) judgments in {@link #qrels()}. */
  public int judgments() {
    return qrels.values().stream().mapToInt(Map::size).sum();
  }

  /**
   * A smaller dataset for fast tests: the same queries and qrels, with every judged document of the corpus (relevant
   * or not) plus {@code extraDocs} others drawn at random, in corpus order. The draw is deterministic: the same
   * dataset and seed give the same subset ({@link Collections#shuffle(List, Random)} of the unjudged ids in corpus
   * order, then the first {@code extraDocs}).
   *
   * @param extraDocs how many unjudged documents to keep; all of them when it exceeds their number
   * @param seed the seed of the draw
   * @return a dataset with the same name, split, queries and qrels, and the kept documents
   * @throws IllegalArgumentException if {@code extraDocs} is negative
   */
  public BeirDataset subset(int extraDocs, long seed) {
    if (extraDocs < 0) {
      throw new IllegalArgumentException("extraDocs is " + extraDocs + "; expected >= 0");
    }
    Set<String> keep = new HashSet<>();
    qrels.values().forEach(docs -> keep.addAll(docs.keySet()));
    List<String> unjudged = new ArrayList<>();
    for (String id : corpus.keySet()) {
      if (!keep.contains(id)) {
        unjudged.add(id);
      }
    }
    Collections.shuffle(unjudged, new Random(seed));
    keep.addAll(unjudged.subList(0, Math.min(extraDocs, unjudged.size())));
    Map<String, CorpusDoc> kept = new LinkedHashMap<>();
    corpus.forEach((id, doc) -> {
      if (keep.contains(id)) {
        kept.put(id, doc);
      }
    });
    return new BeirDataset(name, kept, queries, qrels, split);
  }

  /** A summary: name, split and sizes (not the contents). */
  @Override
  public String toString() {
    return "BeirDataset[name=" + name + ", split=" + split + ", docs=" + corpus.size() + ", queries="
        + queries.size() + ", judgments=" + judgments() + "]";
  }

  private static String sample(Set<String> ids) {
    return ids.size() <= 5 ? ids.toString() : ids.stream().limit(5).toList() + " and " + (ids.size() - 5) + " more";
  }
}
