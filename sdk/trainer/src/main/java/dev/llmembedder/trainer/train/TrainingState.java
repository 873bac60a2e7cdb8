package dev.llmembedder.trainer.train;

import dev.llmembedder.trainer.internal.AtomicFile;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * Everything a training run needs to continue exactly where it stopped: weights, Adam's moments and step, the
 * position in the epoch, the running epoch loss, early stopping's best weights and counters, and the history. The
 * shuffling needs no state: each epoch's order is a function of the seed and the epoch.
 *
 * <p>Checkpoint file, big-endian: magic {@code "LLMETRCK"}, int version, the run's configuration (int length + UTF-8)
 * and data fingerprint (long), then the fields below in order, then the CRC32C of every byte before it (int). Written
 * atomically (temp file, fsync, atomic rename, directory fsync). Not thread-safe.
 */
final class TrainingState {
  private static final byte[] MAGIC = "LLMETRCK".getBytes(StandardCharsets.US_ASCII);
  private static final int VERSION = 1;

  final String configuration;
  final long dataFingerprint;
  final AdapterModel model;
  final double[] weightM;
  final double[] weightV;
  final double[] biasM;
  final double[] biasV;
  /** The epoch in progress (0-based); equals the number of finished epochs. */
  int epoch;
  /** Batches of the epoch in progress already trained on. */
  int stepInEpoch;
  /** Optimiser steps so far (Adam's {@code t}). */
  long step;
  /** Sum over the epoch's trained batches of loss x queries, and the queries: the epoch's mean training loss. */
  double epochLossSum;
  long epochQueries;
  double[] bestWeights;
  double[] bestBias;
  double bestMetric = Double.NaN;
  /** The early-stopping metric of the untrained adapter; NaN when there is none. */
  double baselineMetric = Double.NaN;
  int bestEpoch = -1;
  int epochsSinceImprovement;
  boolean finished;
  boolean stoppedEarly;
  final List<EpochStats> history = new ArrayList<>();

  TrainingState(String configuration, long dataFingerprint, AdapterModel model) {
    this.configuration = configuration;
    this.dataFingerprint = dataFingerprint;
    this.model = model;
    int d = model.dimension;
    this.weightM = new double[d * d];
    this.weightV = new double[d * d];
    this.biasM = model.bias != null ? new double[d] : null;
    this.biasV = model.bias != null ? new double[d] : null;
  }

  void save(Path file) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 8 * 7 * model.weights.length);
    DataOutputStream out = new DataOutputStream(bytes);
    out.write(MAGIC);
    out.writeInt(VERSION);
    byte[] config = configuration.getBytes(StandardCharsets.UTF_8);
    out.writeInt(config.length);
    out.write(config);
    out.writeLong(dataFingerprint);
    out.writeInt(model.dimension);
    out.writeBoolean(model.bias != null);
    out.writeInt(epoch);
    out.writeInt(stepInEpoch);
    out.writeLong(step);
    out.writeDouble(epochLossSum);
    out.writeLong(epochQueries);
    out.writeDouble(bestMetric);
    out.writeDouble(baselineMetric);
    out.writeInt(bestEpoch);
    out.writeInt(epochsSinceImprovement);
    out.writeBoolean(finished);
    out.writeBoolean(stoppedEarly);
    writeDoubles(out, model.weights);
    writeDoubles(out, weightM);
    writeDoubles(out, weightV);
    out.writeBoolean(bestWeights != null);
    if (bestWeights != null) {
      writeDoubles(out, bestWeights);
    }
    if (model.bias != null) {
      writeDoubles(out, model.bias);
      writeDoubles(out, biasM);
      writeDoubles(out, biasV);
      out.writeBoolean(bestBias != null);
      if (bestBias != null) {
        writeDoubles(out, bestBias);
      }
    }
    out.writeInt(history.size());
    for (EpochStats s : history) {
      out.writeInt(s.epoch());
      out.writeDouble(s.trainLoss());
      out.writeDouble(s.validationLoss());
      out.writeDouble(s.metric());
      out.writeBoolean(s.improved());
    }
    out.flush();
    CRC32C crc = new CRC32C();
    byte[] body = bytes.toByteArray();
    crc.update(body);
    out.writeInt((int) crc.getValue());
    out.flush();
    AtomicFile.write(file, bytes::writeTo); // no second copy of the state
  }

  /**
   * Reads a checkpoint written by {@link #save}.
   *
   * @throws IllegalArgumentException naming the file when it is damaged or of another format
   * @throws IOException if it cannot be read
   */
  static TrainingState load(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length < MAGIC.length + 8 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw corrupt(file, "does not start with \"LLMETRCK\": not a training checkpoint");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    int stored = in.getInt(bytes.length - 4);
    if (stored != (int) crc.getValue()) {
      throw corrupt(file, String.format(Locale.ROOT, "fails its checksum (CRC32C %08x, the file records %08x)",
          (int) crc.getValue(), stored));
    }
    try {
      in.position(MAGIC.length);
      int version = in.getInt();
      if (version != VERSION) {
        throw corrupt(file, "has format version " + version + "; this trainer reads version " + VERSION);
      }
      int configLength = in.getInt();
      if (configLength < 0 || configLength > in.remaining()) {
        throw corrupt(file, "declares a configuration of " + configLength + " bytes; " + in.remaining() + " remain");
      }
      byte[] config = new byte[configLength];
      in.get(config);
      long fingerprint = in.getLong();
      int d = in.getInt();
      boolean hasBias = in.get() != 0;
      AdapterModel model = new AdapterModel(d, new double[d * d], hasBias ? new double[d] : null);
      TrainingState s = new TrainingState(new String(config, StandardCharsets.UTF_8), fingerprint, model);
      s.epoch = in.getInt();
      s.stepInEpoch = in.getInt();
      s.step = in.getLong();
      s.epochLossSum = in.getDouble();
      s.epochQueries = in.getLong();
      s.bestMetric = in.getDouble();
      s.baselineMetric = in.getDouble();
      s.bestEpoch = in.getInt();
      s.epochsSinceImprovement = in.getInt();
      s.finished = in.get() != 0;
      s.stoppedEarly = in.get() != 0;
      readDoubles(in, model.weights);
      readDoubles(in, s.weightM);
      readDoubles(in, s.weightV);
      if (in.get() != 0) {
        s.bestWeights = readDoubles(in, new double[d * d]);
      }
      if (hasBias) {
        readDoubles(in, model.bias);
        readDoubles(in, s.biasM);
        readDoubles(in, s.biasV);
        if (in.get() != 0) {
          s.bestBias = readDoubles(in, new double[d]);
        }
      }
      int epochs = in.getInt();
      for (int i = 0; i < epochs; i++) {
        s.history.add(new EpochStats(in.getInt(), in.getDouble(), in.getDouble(), in.getDouble(), in.get() != 0));
      }
      if (in.position() != bytes.length - 4) {
        throw corrupt(file, "has " + (bytes.length - 4 - in.position()) + " bytes after its last field");
      }
      return s;
    } catch (BufferUnderflowException | IndexOutOfBoundsException | NegativeArraySizeException e) {
      throw corrupt(file, "ends before its last field (" + bytes.length + " bytes)");
    }
  }

  private static void writeDoubles(DataOutputStream out, double[] values) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(8 * values.length);
    buffer.asDoubleBuffer().put(values);
    out.write(buffer.array());
  }

  private static double[] readDoubles(ByteBuffer in, double[] into) {
    in.asDoubleBuffer().get(into);
    in.position(in.position() + 8 * into.length);
    return into;
  }

  private static IllegalArgumentException corrupt(Path file, String problem) {
    return new IllegalArgumentException("training checkpoint " + file + " " + problem);
  }
}
