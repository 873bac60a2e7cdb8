package dev.llmembedder.langchain4j;

import dev.langchain4j.data.document.Metadata;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.rag.content.Content;
import dev.langchain4j.rag.content.ContentMetadata;
import dev.langchain4j.rag.content.retriever.ContentRetriever;
import dev.langchain4j.rag.query.Query;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The SDK's retrievers as LangChain4j {@link ContentRetriever}s, so that a LangChain4j RAG pipeline takes ours with
 * one line:
 *
 * <pre>{@code
 * LlmEmbedder embedder = LlmEmbedder.builder().build();
 * embedder.knowledge().addAll(passages);
 * Assistant assistant = AiServices.builder(Assistant.class)
 *     .chatModel(chatModel)
 *     .contentRetriever(LlmEmbedderContentRetrievers.knowledge(embedder.knowledge(), 3))
 *     .build();
 * }</pre>
 *
 * <p>Each retriever embeds {@link Query#text()} with its own task's query instruction (qa, lrlm or chat, icl, tool)
 * and returns its top hits, best first (memory spans come in stream order), as {@link Content}s whose
 * {@link TextSegment} metadata holds the hit's {@value #ID} (where it has one) and {@value #SCORE} (the dot product,
 * a {@code double}; also under {@link ContentMetadata#SCORE}, with the id under
 * {@link ContentMetadata#EMBEDDING_ID}), plus the fields named on each factory. The query's chat memory and
 * other metadata are not used.
 *
 * <p><b>Thread-safety.</b> The returned retrievers are thread-safe, as the SDK's retrievers are; they hold the
 * retriever, not a copy, so they see everything added to it later. A blank query text throws
 * {@link IllegalArgumentException}.
 */
public final class LlmEmbedderContentRetrievers {
  /** Metadata key of the hit's id: a passage's, demonstration's or tool's id. */
  public static final String ID = "id";
  /** Metadata key of the hit's score, a {@code double}: the dot product of query and key (cosine). */
  public static final String SCORE = "score";
  /** Metadata key of a passage's title (absent when empty). */
  public static final String TITLE = "title";
  /** Metadata key of a demonstration's task (absent when empty). */
  public static final String TASK = "task";
  /** Metadata key of a tool's name. */
  public static final String NAME = "name";
  /** Metadata key of a memory span's first chunk index (0-based, an {@code int}). */
  public static final String FIRST_CHUNK = "first_chunk";
  /** Metadata key of a memory span's last chunk index (inclusive, an {@code int}). */
  public static final String LAST_CHUNK = "last_chunk";
  /** Metadata key of the memory's name. */
  public static final String MEMORY = "memory";

  private LlmEmbedderContentRetrievers() {}

  /**
   * Passages for a question ({@link KnowledgeRetriever#retrieve(String, int)}). Each content's text is the passage's
   * text (its title when the text is blank); its metadata holds the passage's own metadata, then {@value #ID}, {@value #TITLE} and {@value #SCORE}
   * (which win over passage metadata of the same names).
   *
   * @param k the number of passages to return, at least 1 (fewer when fewer are stored)
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public static ContentRetriever knowledge(KnowledgeRetriever retriever, int k) {
    Objects.requireNonNull(retriever, "retriever");
    checkK(k);
    return query -> {
      List<Content> contents = new ArrayList<>(k);
      for (DocumentHit hit : retriever.retrieve(query.text(), k)) {
        Document d = hit.document();
        Metadata metadata = new Metadata();
        d.metadata().forEach(metadata::put);
        metadata.put(ID, d.id());
        if (!d.title().isEmpty()) {
          metadata.put(TITLE, d.title());
        }
        String text = d.text().isBlank() ? KnowledgeRetriever.keyText(d) : d.text();
        contents.add(content(text, metadata, d.id(), hit.score()));
      }
      return contents;
    };
  }

  /**
   * Earlier chunks of a memory (a long document or a conversation) for the query
   * ({@link MemoryRetriever#retrieve(String, int)}): spans of consecutive chunks outside the recent window, in stream
   * order. Each content's text is the span's text; its metadata holds {@value #MEMORY}, {@value #FIRST_CHUNK},
   * {@value #LAST_CHUNK} and {@value #SCORE} (the best hit's), and {@value #ID} as {@code "<memory>:<first>-<last>"}.
   *
   * @param k hits to look for, at least 1 (each brings its next chunk; adjacent hits merge into one span)
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public static ContentRetriever memory(MemoryRetriever retriever, int k) {
    Objects.requireNonNull(retriever, "retriever");
    checkK(k);
    return query -> {
      List<Content> contents = new ArrayList<>();
      for (MemorySpan span : retriever.retrieve(query.text(), k)) {
        String id = retriever.name() + ":" + span.firstChunk() + "-" + span.lastChunk();
        Metadata metadata = new Metadata()
            .put(ID, id)
            .put(MEMORY, retriever.name())
            .put(FIRST_CHUNK, span.firstChunk())
            .put(LAST_CHUNK, span.lastChunk());
        contents.add(content(span.text(), metadata, id, span.score()));
      }
      return contents;
    };
  }

  /**
   * In-context demonstrations for a task input ({@link ExampleRetriever#retrieve(String, int, String)}), each
   * rendered with {@link ExampleRetriever#DEFAULT_TEMPLATE}; see {@link #examples(ExampleRetriever, int, String,
   * String)}.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public static ContentRetriever examples(ExampleRetriever retriever, int k) {
    return examples(retriever, k, null, ExampleRetriever.DEFAULT_TEMPLATE);
  }

  /**
   * In-context demonstrations for a task input ({@link ExampleRetriever#retrieve(String, int, String)}). Each
   * content's text is one demonstration rendered through {@code template} (as {@link ExampleRetriever#render}
   * does); its metadata holds {@value #ID}, {@value #TASK} and {@value #SCORE}.
   *
   * @param k the number of demonstrations, at least 1
   * @param task only demonstrations of this task, or null for all
   * @param template with {@code {instruction}}, {@code {input}}, {@code {output}}, {@code {task}} placeholders
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public static ContentRetriever examples(ExampleRetriever retriever, int k, String task, String template) {
    Objects.requireNonNull(retriever, "retriever");
    Objects.requireNonNull(template, "template");
    checkK(k);
    return query -> {
      List<Content> contents = new ArrayList<>(k);
      for (ExampleHit hit : retriever.retrieve(query.text(), k, task)) {
        var demo = hit.demonstration();
        Metadata metadata = new Metadata().put(ID, demo.id());
        if (!demo.task().isEmpty()) {
          metadata.put(TASK, demo.task());
        }
        contents.add(content(ExampleRetriever.render(List.of(hit), template), metadata, demo.id(), hit.score()));
      }
      return contents;
    };
  }

  /**
   * Tools that can serve a request ({@link ToolRetriever#retrieve(String, int)}). Each content's text is the tool's
   * full API definition (JSON text, as stored), ready for the LLM; its metadata holds {@value #ID}, {@value #NAME}
   * and {@value #SCORE}.
   *
   * @param k the number of tools, at least 1
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public static ContentRetriever tools(ToolRetriever retriever, int k) {
    Objects.requireNonNull(retriever, "retriever");
    checkK(k);
    return query -> {
      List<Content> contents = new ArrayList<>(k);
      for (ToolHit hit : retriever.retrieve(query.text(), k)) {
        var tool = hit.tool();
        Metadata metadata = new Metadata().put(ID, tool.id()).put(NAME, tool.name());
        contents.add(content(tool.api(), metadata, tool.id(), hit.score()));
      }
      return contents;
    };
  }

  private static Content content(String text, Metadata metadata, String id, float score) {
    metadata.put(SCORE, (double) score);
    return Content.from(TextSegment.from(text, metadata),
        Map.of(ContentMetadata.SCORE, (double) score, ContentMetadata.EMBEDDING_ID, id));
  }

  private static void checkK(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k is " + k + "; allowed: 1 or more");
    }
  }
}
