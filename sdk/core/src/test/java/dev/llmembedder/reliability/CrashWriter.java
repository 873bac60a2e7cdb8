package dev.llmembedder.reliability;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.Tool;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The child JVM of {@link CrashSafetyTest} and {@link StorageLockTest}.
 *
 * <ul>
 *   <li>{@code write <dir>}: opens the store (int8 model), prints {@code READY <docs> <tools> <turns>}, then forever
 *       adds document {@code d<i>}, appends turn {@code i} to memory {@code chat}, registers tool {@code t<i>},
 *       commits, and prints {@code ACK <docs> <tools> <turns> <id> <scoreBits>}: the counts now durable and the
 *       score (as {@link Float#floatToIntBits}) of the new document for the exact-text query of its text.
 *   <li>{@code hold <dir>}: opens the store, prints {@code READY}, and keeps it open until stdin ends.
 * </ul>
 */
public final class CrashWriter {
  static final String MEMORY = "chat";
  /** Hits fetched when looking a document up by its exact text. */
  static final int K = 10;

  private CrashWriter() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    try (LlmEmbedder embedder = LlmEmbedder.builder().model(ModelPreset.BGE_SMALL_EN_V15_INT8)
        .storageDirectory(dir).build()) {
      if (args[0].equals("hold")) {
        System.out.println("READY");
        System.out.flush();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
          while (in.readLine() != null) {
            // wait for the parent to close stdin
          }
        }
        return;
      }
      MemoryRetriever chat = embedder.memory(MEMORY, Mode.CONVERSATION);
      int docs = embedder.knowledge().size();
      int tools = embedder.tools().size();
      int turns = chat.chunks().size();
      System.out.println("READY " + docs + " " + tools + " " + turns);
      System.out.flush();
      while (true) {
        String id = docId(docs);
        embedder.knowledge().add(Document.of(id, docText(docs)));
        chat.append(turnText(turns));
        embedder.tools().add(tool(tools));
        embedder.commit();
        docs++;
        tools++;
        turns++;
        float score = scoreOf(embedder.knowledge().retrieve(docText(docs - 1), K), id);
        System.out.println("ACK " + docs + " " + tools + " " + turns + " " + id + " " + Float.floatToIntBits(score));
        System.out.flush();
      }
    }
  }

  /** The score of {@code id} among {@code hits}. */
  static float scoreOf(List<DocumentHit> hits, String id) {
    for (DocumentHit hit : hits) {
      if (hit.document().id().equals(id)) {
        return hit.score();
      }
    }
    throw new AssertionError(id + " is not among the top " + hits.size() + " hits of its own text: " + hits);
  }

  private static final String[] SUBJECTS = {"The harbour crane", "A violin teacher", "Our greenhouse", "The glacier",
      "A chess engine", "The bakery", "An orbiting telescope", "The marathon runner", "A beehive", "The subway line",
      "A lighthouse keeper", "The volcano"};
  private static final String[] EVENTS = {"lifted steel beams", "tuned old strings", "grew winter tomatoes",
      "retreated a kilometre", "found a forced mate", "sold rye loaves", "imaged a distant galaxy",
      "crossed the finish line", "swarmed in spring", "closed for repairs", "lit the lamp", "erupted at dawn",
      "flooded after rain"};

  static String docId(int i) {
    return "d" + i;
  }

  /** Short, distinct texts: cheap to encode, far enough apart for an exact-text query to find each. */
  static String docText(int i) {
    return SUBJECTS[i % SUBJECTS.length] + " " + EVENTS[(i / SUBJECTS.length) % EVENTS.length] + " in year "
        + (1900 + i) + ".";
  }

  static String turnText(int i) {
    return "Speaker " + (1 + i % 2) + ": turn " + i + " about " + EVENTS[i % EVENTS.length] + ".";
  }

  static Tool tool(int i) {
    return Tool.of("t" + i, "tool_" + i, "Reports whether " + SUBJECTS[i % SUBJECTS.length].toLowerCase()
        + " " + EVENTS[i % EVENTS.length] + " (" + i + ")", null);
  }
}
