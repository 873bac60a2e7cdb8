package dev.llmembedder.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.Document;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.testing.SharedEncoders;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability contract of {@link LlmEmbedder} under SIGKILL: a child JVM ({@link CrashWriter}) adds documents,
 * memory turns and tools to one storage directory and commits in a loop, acknowledging each commit on stdout; this
 * test kills it at a random moment (during model loading, between commits, or inside one), reopens the directory and
 * checks that it opens with no repair, that every acknowledged document, turn and tool is there (documents with the
 * very score the writer saw for their exact-text query), that nothing seen after an earlier kill is lost, and that
 * each collection is exactly one committed version (its items are a gap-free prefix of the writer's, with at most
 * one commit more than was acknowledged or seen: the one the kill interrupted). The next cycle writes on into the
 * same directory.
 *
 * <p>{@code -Dllmembedder.crash.cycles=N} (default 10) sets the cycles, {@code -Dllmembedder.crash.seed} replays a run.
 */
class CrashSafetyTest {
  private static final int CYCLES = Integer.getInteger("llmembedder.crash.cycles", 10);
  /** The longest wait after READY before the kill; a few commits' worth. */
  private static final int MAX_DELAY_MILLIS = 2500;
  /** Units in the last place a re-checked score may differ by (positive scores, so bit patterns order them). */
  private static final int MAX_ULPS = 4;

  @Test
  void aKilledWriterLosesNothingAcknowledgedAndLeavesNothingHalfWritten(@TempDir Path tmp) throws Exception {
    long seed = Long.getLong("llmembedder.crash.seed", System.nanoTime());
    Random random = new Random(seed);
    Encoder encoder = SharedEncoders.int8();
    Path store = tmp.resolve("store");
    int ackedDocs = 0;
    int ackedTools = 0;
    int ackedTurns = 0;
    int seenDocs = 0;
    int seenTools = 0;
    int seenTurns = 0;
    Map<String, Integer> scoreBits = new HashMap<>();
    long scoreChecks = 0;
    long bitwiseEqual = 0;
    int maxUlps = 0;
    long itemChecks = 0;
    int unacknowledgedCommits = 0;
    int tornCommits = 0;
    int killsBeforeReady = 0;
    long started = System.nanoTime();
    for (int cycle = 0; cycle < CYCLES; cycle++) {
      String context = "cycle " + cycle + " (seed " + seed + ")";
      try (ChildJvm child = ChildJvm.start(CrashWriter.class, List.of("-Xmx512m"), tmp.resolve("child.err"),
          "write", store.toString())) {
        if (random.nextInt(5) == 0) { // sometimes while it starts, loads the model or opens the store
          killsBeforeReady++;
          Thread.sleep(random.nextInt(1500));
        } else {
          child.expectLine("READY", 120_000);
          Thread.sleep(random.nextInt(MAX_DELAY_MILLIS));
        }
        child.kill();
        List<String> lines = child.drain();
        String err = child.stderrText().replaceAll("(?m)^.*(WARN|INFO|WARNING).*$\n?", "");
        context += ", child printed " + lines + ", stderr: " + err.substring(Math.max(0, err.length() - 3000));
        for (String line : lines) {
          String[] f = line.split(" ");
          if (f[0].equals("ACK") && f.length == 6) { // a line cut by the kill acknowledges nothing
            ackedDocs = Math.max(ackedDocs, Integer.parseInt(f[1]));
            ackedTools = Math.max(ackedTools, Integer.parseInt(f[2]));
            ackedTurns = Math.max(ackedTurns, Integer.parseInt(f[3]));
            scoreBits.put(f[4], Integer.parseInt(f[5]));
          } else if (!f[0].equals("READY") && !f[0].equals("ACK")) {
            throw new AssertionError(context + ": unexpected child output '" + line + "'; stderr:\n"
                + child.stderrText());
          }
        }
      }
      if (!java.nio.file.Files.exists(store)) {
        continue; // killed before it created the directory
      }
      try (LlmEmbedder reopened = LlmEmbedder.builder().encoder(encoder).storageDirectory(store).build()) {
        int docs = reopened.knowledge().size();
        int tools = reopened.tools().size();
        List<String> turns = reopened.memory(CrashWriter.MEMORY, Mode.CONVERSATION).chunks();
        // durable: everything acknowledged, and everything seen after an earlier kill (committed but unacknowledged);
        // at most one commit more, the one the kill interrupted after it wrote a collection
        int baseDocs = Math.max(ackedDocs, seenDocs);
        int baseTools = Math.max(ackedTools, seenTools);
        int baseTurns = Math.max(ackedTurns, seenTurns);
        assertTrue(docs == baseDocs || docs == baseDocs + 1, context + ": " + docs + " documents, " + ackedDocs
            + " acknowledged, " + seenDocs + " seen before");
        assertTrue(tools == baseTools || tools == baseTools + 1, context + ": " + tools + " tools, " + ackedTools
            + " acknowledged, " + seenTools + " seen before");
        assertTrue(turns.size() == baseTurns || turns.size() == baseTurns + 1, context + ": " + turns.size()
            + " turns, " + ackedTurns + " acknowledged, " + seenTurns + " seen before");
        if (docs > baseDocs || tools > baseTools || turns.size() > baseTurns) {
          unacknowledgedCommits++; // killed after a commit wrote a collection, before its ACK was printed
        }
        if (docs - baseDocs != tools - baseTools || docs - baseDocs != turns.size() - baseTurns) {
          tornCommits++; // killed between two collections of one commit: allowed, each is one version
        }
        seenDocs = docs;
        seenTools = tools;
        seenTurns = turns.size();
        for (int i = 0; i < docs; i++) {
          Document d = reopened.knowledge().get(CrashWriter.docId(i));
          assertNotNull(d, context + ": document " + i + " of " + docs + " is missing");
          assertEquals(CrashWriter.docText(i), d.text(), context);
        }
        for (int i = 0; i < tools; i++) {
          Tool t = reopened.tools().get("t" + i);
          assertNotNull(t, context + ": tool " + i + " of " + tools + " is missing");
          assertEquals(CrashWriter.tool(i).description(), t.description(), context);
        }
        for (int i = 0; i < turns.size(); i++) {
          assertEquals(CrashWriter.turnText(i), turns.get(i), context + ": turn " + i);
        }
        itemChecks += docs + tools + turns.size();
        // the same score for the exact-text query: every document acknowledged in this cycle, and a sample of older
        for (int i = 0; i < docs; i++) {
          String id = CrashWriter.docId(i);
          Integer bits = scoreBits.remove(id);
          if (bits == null && random.nextInt(Math.max(1, docs / 8)) != 0) {
            continue;
          }
          float score = CrashWriter.scoreOf(reopened.knowledge().retrieve(CrashWriter.docText(i), CrashWriter.K), id);
          if (bits != null) {
            // the same score up to float rounding: the dot product's summation order depends on whether the JIT has
            // compiled the Vector API code yet (seen: 1 ulp between the writer JVM and this one)
            float acked = Float.intBitsToFloat(bits);
            int ulps = Math.abs(Float.floatToIntBits(score) - bits);
            assertTrue(ulps <= MAX_ULPS, context + ": score of " + id + " is " + score + ", acknowledged " + acked);
            maxUlps = Math.max(maxUlps, ulps);
            bitwiseEqual += ulps == 0 ? 1 : 0;
            scoreChecks++;
          }
        }
      }
    }
    assertTrue(ackedDocs > 0, "no commit was acknowledged in " + CYCLES + " cycles");
    System.out.printf("crash test: %d cycles (%d killed before READY) in %.0f s, seed %d: %d documents, %d tools,"
            + " %d memory turns acknowledged; %d item checks after reopening, %d acknowledged scores re-checked"
            + " (%d bit for bit, largest difference %d ulp); %d kills after a commit wrote something but before its"
            + " ACK, %d of them between two collections of one commit%n",
        CYCLES, killsBeforeReady, (System.nanoTime() - started) / 1e9, seed, ackedDocs, ackedTools, ackedTurns,
        itemChecks, scoreChecks, bitwiseEqual, maxUlps, unacknowledgedCommits, tornCommits);
  }
}
