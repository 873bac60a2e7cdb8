package dev.llmembedder;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.encoder.TextTemplate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code embedder.json} in a storage directory: which model wrote the embeddings stored there. Embeddings of two
 * models (or of one model with another output, pooling or key instructions) are not comparable, so opening a store
 * with a different encoder is refused instead of returning silently wrong results. A model with a {@link TextTemplate}
 * records its key pattern with each key instruction ({@code "\"{text}\", summarize ..."}). {@code output} is
 * {@link Encoder#outputName()}; a manifest written before it was recorded (null) matches any output.
 */
record StorageManifest(String model, int dimension, String output, String pooling,
    Map<String, String> keyInstructions) {
  static final String FILE = "embedder.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  static StorageManifest of(Encoder encoder) {
    Map<String, String> keys = new LinkedHashMap<>();
    TextTemplate template = encoder.template();
    for (Task task : Task.values()) {
      String instruction = encoder.instructions().forTask(task).key();
      // a templated model's keys are its key pattern around instruction + text; an untemplated one's, as before
      keys.put(task.id(), template.isNone() ? instruction
          : template.key().replace(TextTemplate.TEXT, instruction + TextTemplate.TEXT));
    }
    return new StorageManifest(encoder.modelName(), encoder.dimension(), encoder.outputName(), encoder.pooling().name(),
        keys);
  }

  private StorageManifest withOutput(String other) {
    return new StorageManifest(model, dimension, other, pooling, keyInstructions);
  }

  /**
   * Creates {@code storage} and its manifest for {@code encoder}, or checks that the existing manifest names the same
   * model, dimension, output, pooling and key instructions.
   *
   * @throws IllegalArgumentException naming both models when they differ
   */
  static void checkOrCreate(Path storage, Encoder encoder) {
    StorageManifest mine = of(encoder);
    Path file = storage.resolve(FILE);
    try {
      if (Files.exists(file)) {
        StorageManifest stored = JSON.readValue(file.toFile(), StorageManifest.class);
        if (!stored.equals(stored.output() == null ? mine.withOutput(null) : mine)) {
          throw new IllegalArgumentException("storage directory " + storage + " holds embeddings of " + stored
              + ", but this embedder encodes with " + mine + "; use the same model and instructions, or another"
              + " storage directory");
        }
        return;
      }
      Files.createDirectories(storage);
      Path tmp = storage.resolve(FILE + ".tmp");
      try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        out.write(ByteBuffer.wrap(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(mine)));
        out.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + file, e);
    }
  }
}
