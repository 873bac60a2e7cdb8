package dev.llmembedder.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.MemoryRetriever.Settings;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code example-memory}: memory retrieval. First a {@link Mode#DOCUMENT} memory over the whole of <i>Pride and
 * Prejudice</i> (about 1,400 chunks of 128 tokens, saved so that only the first run encodes it), asked about earlier
 * events; then a {@link Mode#CONVERSATION} memory holding one dialogue of LLM-Embedder's chat data, asked the
 * dialogue's next question. Spans come in stream order, each hit with the chunk after it.
 */
@Command(name = "example-memory", mixinStandardHelpOptions = true,
    description = "Example: memory retrieval over a novel (document) and a dialogue (conversation).")
final class ExampleMemoryCommand implements Callable<Integer> {
  private static final Pattern CHAPTER = Pattern.compile("(?m)^(?:CHAPTER|Chapter) ([IVXLC]+)\\b"); // "CHAPTER XIII" has no period

  @Mixin ModelOptions model;

  @Option(names = "--book", defaultValue = DatasetOptions.DATA + "books/pride-and-prejudice.txt",
      description = "Project Gutenberg text of Pride and Prejudice. Default: ${DEFAULT-VALUE}.")
  Path bookFile;

  @Option(names = "--chat", defaultValue = DatasetOptions.DATA + "llm_embedder_toy/chat.jsonl",
      description = "LLM-Embedder chat rows ({history: [turns], query}). Default: ${DEFAULT-VALUE}.")
  Path chatFile;

  @Option(names = "--chat-row", defaultValue = "0", description = "Which row of --chat. Default: ${DEFAULT-VALUE}.")
  int chatRow;

  @Option(names = "--store", description = "Where the memories are saved (default: index/example-memory-<model>).")
  Path store;

  @Override
  public Integer call() throws Exception {
    List<Chapter> chapters = readBook(bookFile);
    Path dir = store != null ? store : Path.of("index", "example-memory-" + model.modelName());
    try (LlmEmbedder embedder = model.embedderBuilder().storageDirectory(dir).build()) {
      documentMemory(embedder, chapters, dir);
      conversationMemory(embedder);
    } // close() saves the memories
    return 0;
  }

  private void documentMemory(LlmEmbedder embedder, List<Chapter> chapters, Path dir) {
    // 128-token chunks; the last 2,048 tokens are the LLM's own window and never come back
    MemoryRetriever book = embedder.memory("pride-and-prejudice");
    if (book.isEmpty()) { // the first run: append the book chapter by chapter (only new chunks are encoded)
      try (ProgressBar bar = Corpora.progressBar("Encoding the book", chapters.size(), " chapters")) {
        for (Chapter chapter : chapters) {
          book.append(chapter.text());
          bar.step();
        }
      }
      embedder.commit();
    }
    List<String> chunks = book.chunks();
    long bookChars = chapters.stream().mapToLong(c -> c.text().length()).sum();
    if (chunks.stream().mapToLong(String::length).sum() != bookChars) {
      throw new IllegalStateException("the memory saved in " + dir + " is not this book (an interrupted first run?);"
          + " delete that directory and run again");
    }
    System.out.printf("Pride and Prejudice: %d chapters in %d chunks of 128 tokens, saved in %s%n", chapters.size(),
        chunks.size(), dir.toAbsolutePath().normalize());
    System.out.println("Each hit on chunk i comes with chunk i+1; spans are listed in stream order, not by score.");

    for (String question : List.of(
        "Mr. Collins proposes marriage to Elizabeth and she refuses him.",
        "Darcy's letter explains what Wickham did to him and to his sister.",
        "Lydia has eloped with Wickham.")) {
      System.out.println();
      System.out.println("Query: " + question);
      print(book.retrieve(question, 2), chunks, chapters);
    }
    // without a query the most recent chunk asks: what earlier text helps the LLM continue the book?
    System.out.println();
    System.out.println("Query: the most recent chunk, " + (chunks.size() - 1) + ": \""
        + Text.abbreviate(chunks.get(chunks.size() - 1), 100) + "\"");
    print(book.retrieve(2), chunks, chapters);
  }

  private void conversationMemory(LlmEmbedder embedder) throws IOException {
    JsonNode row = readChatRow(chatFile, chatRow);
    // one turn per chunk; no recent window here: the dialogue is short and every turn may come back
    MemoryRetriever chat = embedder.memory("chat-row-" + chatRow,
        Settings.of(Mode.CONVERSATION).withRecentTokens(0));
    if (chat.isEmpty()) { // each turn ends with a newline so that turns joined in a span stay apart
      row.get("history").forEach(turn -> chat.append(turn.asText() + "\n"));
    }
    List<String> turns = chat.chunks();
    System.out.println();
    System.out.println("=".repeat(100));
    System.out.printf("Conversation (row %d of %s), one chunk per turn:%n", chatRow, chatFile.getFileName());
    for (int i = 0; i < turns.size(); i++) {
      System.out.printf("  %2d  %s%n", i, Text.abbreviate(turns.get(i), 110));
    }
    String query = row.get("query").asText();
    System.out.println();
    System.out.println("Query (the dialogue's next question): " + query);
    for (MemorySpan span : chat.retrieve(query, 1)) {
      System.out.printf("  turns %d-%d (score %.4f):%n", span.firstChunk(), span.lastChunk(), span.score());
      span.text().lines().forEach(line -> System.out.println("      " + line));
    }
  }

  /** Prints spans with their chunk numbers and chapters; they come in stream order, not by score. */
  private static void print(List<MemorySpan> spans, List<String> chunks, List<Chapter> chapters) {
    for (MemorySpan span : spans) {
      System.out.printf("  chunks %d-%d, chapter %s (score %.4f): %s%n", span.firstChunk(), span.lastChunk(),
          chapterOf(span.firstChunk(), chunks, chapters), span.score(), Text.abbreviate(span.text(), 200));
    }
  }

  /** The chapter a chunk starts in: the chunks and the chapters both concatenate to the book. */
  private static String chapterOf(int chunk, List<String> chunks, List<Chapter> chapters) {
    long offset = 0;
    for (int i = 0; i < chunk; i++) {
      offset += chunks.get(i).length();
    }
    String numeral = chapters.get(0).numeral();
    for (Chapter chapter : chapters) {
      if (offset < chapter.start()) {
        break;
      }
      numeral = chapter.numeral();
    }
    return numeral;
  }

  /** One chapter: its Roman numeral, where it starts in the book, its text. */
  record Chapter(String numeral, long start, String text) {}

  /** The chapters of the novel, without the Gutenberg header, front matter, closing plate and licence. */
  static List<Chapter> readBook(Path file) throws IOException {
    DatasetOptions.requireFile(file, "the Project Gutenberg text of Pride and Prejudice, e.g. "
        + DatasetOptions.DATA + "books/pride-and-prejudice.txt");
    // this copy is Windows-1252 (curly quotes as single bytes), not UTF-8
    String text = Files.readString(file, Charset.forName("windows-1252")).replace("\r\n", "\n");
    int end = text.indexOf("*** END OF THE PROJECT GUTENBERG EBOOK");
    text = text.substring(0, end >= 0 ? end : text.length());
    List<Integer> starts = new ArrayList<>();
    List<String> numerals = new ArrayList<>();
    for (Matcher m = CHAPTER.matcher(text); m.find(); ) {
      starts.add(m.start());
      numerals.add(m.group(1));
    }
    if (starts.isEmpty()) {
      throw new IllegalArgumentException(file + " has no chapter headings (\"CHAPTER I.\"); is it Pride and Prejudice?");
    }
    int plate = text.lastIndexOf("[Illustration:"); // the closing "THE END" plate and the printer's imprint
    starts.add(plate > starts.get(starts.size() - 1) ? plate : text.length());
    List<Chapter> chapters = new ArrayList<>();
    long offset = 0;
    for (int i = 0; i < numerals.size(); i++) {
      String chapter = text.substring(starts.get(i), starts.get(i + 1));
      chapters.add(new Chapter(numerals.get(i), offset, chapter));
      offset += chapter.length();
    }
    return chapters;
  }

  /** Row {@code row} of an LLM-Embedder chat.jsonl file: {@code history} (the turns so far) and {@code query}. */
  static JsonNode readChatRow(Path file, int row) throws IOException {
    DatasetOptions.requireFile(file, "LLM-Embedder's chat rows, e.g. " + DatasetOptions.DATA + "llm_embedder_toy/chat.jsonl");
    List<String> lines = Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
    if (row < 0 || row >= lines.size()) {
      throw new IllegalArgumentException(file + " has rows 0.." + (lines.size() - 1) + "; no row " + row);
    }
    JsonNode node = new ObjectMapper().readTree(lines.get(row));
    if (!node.path("history").isArray() || !node.path("query").isTextual()) {
      throw new IllegalArgumentException(file + ": row " + row + " has no 'history' list and 'query' string");
    }
    return node;
  }
}
