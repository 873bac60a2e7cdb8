package dev.llmembedder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.context.PromptContext;
import dev.llmembedder.index.Document;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The usage example of README.md, verbatim between the markers, so that it cannot rot. */
class ReadmeExampleTest {
  @Test
  void readmeExampleCompilesAndRetrieves() {
    PromptContext captured;
    // README-EXAMPLE-START
    try (LlmEmbedder embedder = LlmEmbedder.builder().build()) { // embedded BAAI/bge-small-en-v1.5, in memory
      embedder.knowledge().addAll(List.of(
          Document.of("tides", "Tides are caused mainly by the gravitational pull of the Moon on the oceans."),
          Document.of("rain", "Rain forms when water vapour condenses into droplets heavy enough to fall."),
          Document.of("jvm", "The JVM runs Java bytecode and compiles hot methods to machine code.")));
      PromptContext context = embedder.context("Why does the sea rise and fall?").knowledge(2).build();
      System.out.println(context.render()); // "Knowledge:\n[1] Tides are caused mainly by ..."
      captured = context;
    }
    // README-EXAMPLE-END
    assertEquals("tides", captured.knowledge().get(0).document().id());
    assertEquals(2, captured.knowledge().size());
    assertTrue(captured.render().startsWith("Knowledge:\n[1] Tides are caused"), captured.render());
  }

  @Test
  void readmeShowsTheTestedExample() throws IOException {
    String source = Files.readString(Path.of("src/test/java/dev/llmembedder/ReadmeExampleTest.java"));
    String readme = Files.readString(Path.of("../../README.md"));
    String block = source.substring(source.indexOf("// README-EXAMPLE-START"), source.indexOf("// README-EXAMPLE-END"));
    List<String> lines = block.lines().skip(1).filter(l -> !l.contains("captured") && !l.isBlank())
        .map(String::strip).toList();
    List<String> readmeLines = readme.lines().map(String::strip).toList();
    int at = Collections.indexOfSubList(readmeLines, lines);
    assertTrue(at >= 0, "README.md must contain the example of ReadmeExampleTest, line for line:\n"
        + String.join("\n", lines));
  }
}
