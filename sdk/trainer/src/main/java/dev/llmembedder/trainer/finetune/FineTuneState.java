package dev.llmembedder.trainer.finetune;

import ai.djl.ndarray.NDArray;
import dev.llmembedder.trainer.internal.AtomicFile;
import dev.llmembedder.trainer.train.EpochStats;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * Where a full fine-tuning run stands, and its checkpoint file: the position (epoch, batches of it trained, optimiser
 * steps), the running epoch loss, early stopping's best loss, epoch and weights, the history, and, in the file, the
 * weights and AdamW's moments. Each epoch's batches are a function of the seed and the epoch, so they need no state.
 *
 * <p>File, big-endian: magic {@code "LLMEFTCK"}, int version, the run's configuration (int length + UTF-8) and data
 * fingerprint (long), the counters, the history, then the tensors (weights, first moments, second moments, and the
 * best weights when kept; each as a count and then name, length and floats per parameter), then the CRC32C of every
 * byte before it (int). Written atomically ({@link AtomicFile}) and streamed, one parameter at a time. Not
 * thread-safe.
 */
final class FineTuneState {
  private static final byte[] MAGIC = "LLMEFTCK".getBytes(StandardCharsets.US_ASCII);
  private static final int VERSION = 1;

  final String configuration;
  final long dataFingerprint;
  /** The epoch in progress (0-based): the number of finished epochs. */
  int epoch;
  /** Batches of the epoch in progress already trained on; a checkpoint is taken only after an optimiser step. */
  int batchInEpoch;
  long steps;
  long batchesSeen;
  /** Sum of loss x queries over the epoch's trained batches, and the queries: the epoch's mean training loss. */
  double epochLossSum;
  long epochQueries;
  double baseline = Double.NaN;
  double best = Double.NaN;
  /** -1: the untrained model is the best so far. */
  int bestEpoch = -1;
  int sinceImprovement;
  boolean finished;
  boolean stoppedEarly;
  /** Wall time of the run before the current {@code fit} call, in seconds. */
  double secondsBefore;
  final List<EpochStats> history = new ArrayList<>();
  /** The best epoch's weights when they are not the model's own (null: the model's, or the untrained ones). */
  Map<String, float[]> bestWeights;

  FineTuneState(String configuration, long dataFingerprint) {
    this.configuration = configuration;
    this.dataFingerprint = dataFingerprint;
  }

  /** The tensors a checkpoint holds besides the best weights, as read back by {@link #load}. */
  record Tensors(Map<String, float[]> weights, Map<String, float[]> first, Map<String, float[]> second) {}

  /** Writes the state with the model's weights and the optimiser's moments. */
  void save(Path file, Map<String, NDArray> weights, AdamWOptimizer optimizer, double seconds) throws IOException {
    AtomicFile.write(file, stream -> {
      CRC32C crc = new CRC32C();
      DataOutputStream out = new DataOutputStream(new CheckedOutputStream(stream, crc));
      out.write(MAGIC);
      out.writeInt(VERSION);
      writeString(out, configuration);
      out.writeLong(dataFingerprint);
      out.writeInt(epoch);
      out.writeInt(batchInEpoch);
      out.writeLong(steps);
      out.writeLong(batchesSeen);
      out.writeDouble(epochLossSum);
      out.writeLong(epochQueries);
      out.writeDouble(baseline);
      out.writeDouble(best);
      out.writeInt(bestEpoch);
      out.writeInt(sinceImprovement);
      out.writeBoolean(finished);
      out.writeBoolean(stoppedEarly);
      out.writeDouble(seconds);
      out.writeInt(history.size());
      for (EpochStats s : history) {
        out.writeInt(s.epoch());
        out.writeDouble(s.trainLoss());
        out.writeDouble(s.validationLoss());
        out.writeDouble(s.metric());
        out.writeBoolean(s.improved());
      }
      writeArrays(out, weights);
      writeArrays(out, optimizer.first());
      writeArrays(out, optimizer.second());
      out.writeBoolean(bestWeights != null);
      if (bestWeights != null) {
        writeFloats(out, bestWeights);
      }
      out.flush();
      stream.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    });
  }

  /**
   * Reads a checkpoint written by {@link #save}; {@code tensors} receives its weights and moments.
   *
   * @throws IllegalArgumentException naming the file when it is damaged or of another format
   * @throws IOException if it cannot be read
   */
  static FineTuneState load(Path file, Tensors[] tensors) throws IOException {
    long size = Files.size(file);
    CRC32C crc = new CRC32C();
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      DataInputStream in = new DataInputStream(new CheckedInputStream(raw, crc));
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw corrupt(file, "does not start with \"LLMEFTCK\": not a fine-tuning checkpoint");
      }
      int version = in.readInt();
      if (version != VERSION) {
        throw corrupt(file, "has format version " + version + "; this trainer reads version " + VERSION);
      }
      FineTuneState state = new FineTuneState(readString(in, file, size), in.readLong());
      state.epoch = in.readInt();
      state.batchInEpoch = in.readInt();
      state.steps = in.readLong();
      state.batchesSeen = in.readLong();
      state.epochLossSum = in.readDouble();
      state.epochQueries = in.readLong();
      state.baseline = in.readDouble();
      state.best = in.readDouble();
      state.bestEpoch = in.readInt();
      state.sinceImprovement = in.readInt();
      state.finished = in.readBoolean();
      state.stoppedEarly = in.readBoolean();
      state.secondsBefore = in.readDouble();
      int epochs = count(in.readInt(), file, size);
      for (int i = 0; i < epochs; i++) {
        state.history.add(new EpochStats(in.readInt(), in.readDouble(), in.readDouble(), in.readDouble(),
            in.readBoolean()));
      }
      tensors[0] = new Tensors(readFloats(in, file, size), readFloats(in, file, size), readFloats(in, file, size));
      state.bestWeights = in.readBoolean() ? readFloats(in, file, size) : null;
      int computed = (int) crc.getValue();
      int stored = new DataInputStream(raw).readInt();
      if (stored != computed) {
        throw corrupt(file, String.format(Locale.ROOT, "fails its checksum (CRC32C %08x, the file records %08x)",
            computed, stored));
      }
      if (raw.read() != -1) {
        throw corrupt(file, "has bytes after its checksum");
      }
      return state;
    } catch (EOFException e) {
      throw corrupt(file, "is truncated (" + size + " bytes)");
    }
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static String readString(DataInputStream in, Path file, long size) throws IOException {
    byte[] bytes = new byte[count(in.readInt(), file, size)];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** The model's or the optimiser's arrays, copied to the heap one at a time. */
  private static void writeArrays(DataOutputStream out, Map<String, NDArray> arrays) throws IOException {
    out.writeInt(arrays.size());
    for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
      writeFloats(out, e.getKey(), e.getValue().toFloatArray());
    }
  }

  private static void writeFloats(DataOutputStream out, Map<String, float[]> arrays) throws IOException {
    out.writeInt(arrays.size());
    for (Map.Entry<String, float[]> e : arrays.entrySet()) {
      writeFloats(out, e.getKey(), e.getValue());
    }
  }

  private static void writeFloats(DataOutputStream out, String name, float[] values) throws IOException {
    writeString(out, name);
    out.writeInt(values.length);
    ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
    for (float v : values) {
      if (!buffer.hasRemaining()) {
        out.write(buffer.array(), 0, buffer.position());
        buffer.clear();
      }
      buffer.putFloat(v);
    }
    out.write(buffer.array(), 0, buffer.position());
  }

  private static Map<String, float[]> readFloats(DataInputStream in, Path file, long size) throws IOException {
    int n = count(in.readInt(), file, size);
    Map<String, float[]> out = new LinkedHashMap<>();
    byte[] chunk = new byte[1 << 16];
    for (int i = 0; i < n; i++) {
      String name = readString(in, file, size);
      float[] values = new float[count(in.readInt(), file, size / 4)];
      for (int done = 0; done < values.length; ) {
        int take = Math.min(chunk.length / 4, values.length - done);
        in.readFully(chunk, 0, take * 4);
        ByteBuffer.wrap(chunk, 0, take * 4).asFloatBuffer().get(values, done, take);
        done += take;
      }
      out.put(name, values);
    }
    return out;
  }

  /** A count or length read from the file: never negative, never more than the file could hold. */
  private static int count(int n, Path file, long limit) {
    if (n < 0 || n > limit) {
      throw corrupt(file, "records a count of " + n + " where its size allows at most " + limit);
    }
    return n;
  }

  static IllegalArgumentException corrupt(Path file, String problem) {
    return new IllegalArgumentException("fine-tuning checkpoint " + file + " " + problem);
  }
}
