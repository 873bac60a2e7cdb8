package com.example.rag;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.context.PromptContext;
import dev.llmembedder.index.Document;
import java.util.List;

/**
 * A minimal retrieval-augmented application on the LLM-Embedder SDK: it builds an embedder on the embedded default
 * model (BAAI/bge-small-en-v1.5, shipped in a Maven artifact, so nothing is downloaded at run time), adds a few
 * knowledge passages and prints the prompt context for a question, ready to prepend to an LLM prompt.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp <runtime classpath> com.example.rag.SampleApp "question"}
 */
public final class SampleApp {
  static final List<Document> PASSAGES = List.of(
      Document.of("tides", "Tides are caused mainly by the gravitational pull of the Moon on the oceans."),
      Document.of("rain", "Rain forms when water vapour condenses into droplets heavy enough to fall."),
      Document.of("jvm", "The JVM runs Java bytecode and compiles hot methods to machine code."),
      Document.of("bees", "Honey bees communicate the direction of flowers with a waggle dance."));

  private SampleApp() {}

  /** The prompt context for {@code question}: the two passages of {@link #PASSAGES} that answer it best. */
  static PromptContext context(LlmEmbedder embedder, String question) {
    embedder.knowledge().addAll(PASSAGES);
    return embedder.context(question).knowledge(2).build();
  }

  public static void main(String[] args) {
    String question = args.length > 0 ? String.join(" ", args) : "Why does the sea rise and fall?";
    try (LlmEmbedder embedder = LlmEmbedder.builder().build()) { // in memory, embedded default model
      PromptContext context = context(embedder, question);
      System.out.println(context.render());
      System.out.println();
      System.out.println("Question: " + question);
    }
  }
}
