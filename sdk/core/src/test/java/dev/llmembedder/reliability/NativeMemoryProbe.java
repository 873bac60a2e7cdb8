package dev.llmembedder.reliability;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The child JVM of {@link NativeMemoryTest}: {@code opens <n> <preset> <dir>} builds the facade on a storage
 * directory, adds a passage, retrieves and closes it {@code n} times; {@code encodes <n> <preset>} encodes {@code n}
 * distinct queries on one encoder (query cache off, and every text differs, so each call runs the model). Prints
 * {@code RSS <label> <kB>} from {@code /proc/self/status} after the first tenth of the work (at least 6 rounds: warm),
 * after each further tenth (a trend), and at the end.
 */
public final class NativeMemoryProbe {
  private NativeMemoryProbe() {}

  public static void main(String[] args) throws Exception {
    int n = Integer.parseInt(args[1]);
    ModelPreset preset = ModelPreset.fromName(args[2]);
    int warm = Math.max(6, n / 10);
    if (args[0].equals("opens")) {
      Path dir = Path.of(args[3]);
      for (int i = 0; i < n; i++) {
        if (i == warm) {
          report("warm");
        } else if (i > warm && i % warm == 0) {
          report("at-" + i);
        }
        try (LlmEmbedder embedder = LlmEmbedder.builder().model(preset).storageDirectory(dir).build()) {
          embedder.knowledge().add(Document.of("p" + (i % 10), "Passage number " + i + " about rivers."));
          embedder.context("Which passage is about rivers?").knowledge(3).build();
        }
      }
    } else {
      try (Encoder encoder = Encoder.builder().preset(preset).queryCacheSize(0).build()) {
        for (int i = 0; i < n; i++) {
          if (i == warm) {
            report("warm");
          } else if (i > warm && i % warm == 0) {
            report("at-" + i);
          }
          encoder.encodeQuery("query number " + i + " about rivers and mountains", Task.QA);
        }
      }
    }
    report("end");
  }

  private static void report(String label) throws IOException {
    System.gc();
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        System.out.println("RSS " + label + " " + line.replaceAll("\\D", ""));
        System.out.flush();
      }
    }
  }
}
