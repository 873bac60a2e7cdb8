package dev.llmembedder.encoder;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A linear map on query embeddings: {@code q' = normalize(W q + b)}, with {@code W} a {@code dim x dim} matrix and
 * {@code b} an optional bias. Only queries go through it ({@link Encoder#encodeQuery}, {@link Encoder#encodeQueries});
 * keys are never adapted, so collections and indexes built without the adapter stay valid, and an adapter can be
 * trained on a frozen encoder (the {@code llm-embedder-trainer} module's {@code dev.llmembedder.trainer.train}).
 * The identity ({@code W = I}, {@code b = 0}) leaves embeddings unchanged.
 *
 * <p>An adapter belongs to one model: {@link #modelName()} and {@link #dimension()} must equal the encoder's
 * ({@link Encoder.Builder#queryAdapter(Path)} refuses it otherwise).
 *
 * <p><b>File format</b> ({@link #save}, {@link #load}), big-endian:
 * <pre>
 *   8 bytes  magic "LLMEQADP"
 *   int      format version ({@value #FORMAT_VERSION})
 *   int      dimension d (1 to {@value #MAX_DIMENSION})
 *   byte     flags: bit 0 set = a bias follows the weights; other bits 0
 *   ushort   n, then n bytes: the model name in UTF-8 (1 to {@value #MAX_MODEL_NAME_BYTES} bytes)
 *   float    W, d x d, row-major: (W q)[i] = sum over j of W[i][j] q[j]
 *   float    b, d values (only with the bias flag)
 *   int      CRC32C of every byte before it
 * </pre>
 * Files are written atomically (temp file, fsync, atomic rename, directory fsync).
 *
 * <p>Immutable and thread-safe.
 */
public final class QueryAdapter {
  /** The file format this class writes and reads. */
  public static final int FORMAT_VERSION = 1;
  /** The largest dimension a file may declare (a 16,384-dim adapter is 1 GiB). */
  public static final int MAX_DIMENSION = 16_384;
  /** The longest model name, in UTF-8 bytes. */
  public static final int MAX_MODEL_NAME_BYTES = 1_024;
  private static final byte[] MAGIC = "LLMEQADP".getBytes(StandardCharsets.US_ASCII);
  private static final int FLAG_BIAS = 1;

  private final String modelName;
  private final int dimension;
  /** Row-major {@code [dimension * dimension]}. */
  private final float[] weights;
  /** {@code [dimension]}, or null without a bias. */
  private final float[] bias;

  private QueryAdapter(String modelName, int dimension, float[] weights, float[] bias) {
    this.modelName = modelName;
    this.dimension = dimension;
    this.weights = weights;
    this.bias = bias;
  }

  /**
   * The identity adapter ({@code W = I}, {@code b = 0}): the starting point of training.
   *
   * @param modelName the encoder's {@link Encoder#modelName()}
   * @param dimension the encoder's {@link Encoder#dimension()}
   * @param bias whether the adapter has a bias (all zero here)
   * @throws IllegalArgumentException for a blank or too long model name or a dimension outside 1 to
   *     {@value #MAX_DIMENSION}
   */
  public static QueryAdapter identity(String modelName, int dimension, boolean bias) {
    checkModelName(modelName);
    checkDimension(dimension);
    float[] w = new float[dimension * dimension];
    for (int i = 0; i < dimension; i++) {
      w[i * dimension + i] = 1f;
    }
    return new QueryAdapter(modelName, dimension, w, bias ? new float[dimension] : null);
  }

  /**
   * An adapter with the given weights (copied).
   *
   * @param modelName the encoder's {@link Encoder#modelName()}
   * @param weights {@code float[d][d]}, row-major: {@code (W q)[i] = sum_j weights[i][j] q[j]}; finite values
   * @param bias {@code float[d]} with finite values, or null for none
   * @throws IllegalArgumentException naming the bad row, length or value
   */
  public static QueryAdapter of(String modelName, float[][] weights, float[] bias) {
    checkModelName(modelName);
    Objects.requireNonNull(weights, "weights is null");
    int d = weights.length;
    checkDimension(d);
    float[] w = new float[d * d];
    for (int i = 0; i < d; i++) {
      if (weights[i] == null || weights[i].length != d) {
        throw new IllegalArgumentException("weights[" + i + "] has " + (weights[i] == null ? "null" : "length "
            + weights[i].length) + "; expected a square matrix, float[" + d + "][" + d + "]");
      }
      System.arraycopy(weights[i], 0, w, i * d, d);
    }
    checkFinite(w, "weights", d);
    float[] b = null;
    if (bias != null) {
      if (bias.length != d) {
        throw new IllegalArgumentException("bias has length " + bias.length + "; expected " + d
            + " (the weights' dimension)");
      }
      b = bias.clone();
      checkFinite(b, "bias", 0);
    }
    return new QueryAdapter(modelName, d, w, b);
  }

  /**
   * Reads an adapter file (see the class comment for the format).
   *
   * @throws IllegalArgumentException naming the file when it is missing, unreadable, not an adapter file, of
   *     another format version, truncated or extended, fails its checksum, or holds non-finite values
   */
  public static QueryAdapter load(Path file) {
    Objects.requireNonNull(file, "file is null");
    byte[] bytes;
    try {
      long size = Files.size(file);
      long largest = 8L + 4 + 4 + 1 + 2 + MAX_MODEL_NAME_BYTES + 4L * MAX_DIMENSION * (MAX_DIMENSION + 1) + 4;
      if (size > largest) {
        throw corrupt(file, "is " + size + " bytes, more than any adapter file (" + largest + ")");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("query adapter file " + file + " does not exist", e);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read query adapter file " + file + ": " + e.getMessage(), e);
    }
    if (bytes.length < MAGIC.length || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw corrupt(file, "does not start with \"LLMEQADP\": not a query adapter file");
    }
    int minimum = MAGIC.length + 4 + 4 + 1 + 2 + 1 + 4 + 4;
    if (bytes.length < minimum) {
      throw corrupt(file, "is " + bytes.length + " bytes, shorter than any adapter file (" + minimum + ")");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes); // big-endian
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    int stored = in.getInt(bytes.length - 4);
    if (stored != (int) crc.getValue()) {
      throw corrupt(file, String.format(Locale.ROOT, "fails its checksum (CRC32C %08x, the file records %08x)",
          (int) crc.getValue(), stored));
    }
    in.position(MAGIC.length);
    int version = in.getInt();
    if (version != FORMAT_VERSION) {
      throw corrupt(file, "has format version " + version + "; this SDK reads version " + FORMAT_VERSION);
    }
    int d = in.getInt();
    if (d < 1 || d > MAX_DIMENSION) {
      throw corrupt(file, "declares dimension " + d + "; allowed: 1 to " + MAX_DIMENSION);
    }
    int flags = in.get();
    if ((flags & ~FLAG_BIAS) != 0) {
      throw corrupt(file, "has unknown flags " + Integer.toBinaryString(flags & 0xff));
    }
    boolean hasBias = (flags & FLAG_BIAS) != 0;
    int nameBytes = Short.toUnsignedInt(in.getShort());
    long expected = (long) MAGIC.length + 4 + 4 + 1 + 2 + nameBytes + 4L * d * d + (hasBias ? 4L * d : 0) + 4;
    if (nameBytes < 1 || nameBytes > MAX_MODEL_NAME_BYTES || bytes.length != expected) {
      throw corrupt(file, "is " + bytes.length + " bytes, but its header (dimension " + d + ", model name of "
          + nameBytes + " bytes, bias " + hasBias + ") implies " + expected);
    }
    String name = new String(bytes, in.position(), nameBytes, StandardCharsets.UTF_8);
    in.position(in.position() + nameBytes);
    float[] w = new float[d * d];
    in.asFloatBuffer().get(w);
    in.position(in.position() + 4 * w.length);
    float[] b = null;
    if (hasBias) {
      b = new float[d];
      in.asFloatBuffer().get(b);
    }
    try {
      checkModelName(name);
      checkFinite(w, "weights", d);
      if (b != null) {
        checkFinite(b, "bias", 0);
      }
    } catch (IllegalArgumentException e) {
      throw corrupt(file, e.getMessage());
    }
    return new QueryAdapter(name, d, w, b);
  }

  /**
   * Writes this adapter to {@code file} atomically: a temporary file beside it, fsync, an atomic rename over
   * {@code file}, then an fsync of the directory. A crash leaves either the old file or the new one. Creates missing
   * parent directories.
   *
   * @throws IOException if writing fails; {@code file} is then unchanged
   */
  public void save(Path file) throws IOException {
    Path target = Objects.requireNonNull(file, "file is null").toAbsolutePath();
    Path dir = target.getParent();
    Files.createDirectories(dir);
    byte[] name = modelName.getBytes(StandardCharsets.UTF_8);
    int size = MAGIC.length + 4 + 4 + 1 + 2 + name.length + 4 * weights.length + (bias != null ? 4 * dimension : 0)
        + 4;
    ByteBuffer out = ByteBuffer.allocate(size);
    out.put(MAGIC).putInt(FORMAT_VERSION).putInt(dimension).put((byte) (bias != null ? FLAG_BIAS : 0));
    out.putShort((short) name.length).put(name);
    out.asFloatBuffer().put(weights);
    out.position(out.position() + 4 * weights.length);
    if (bias != null) {
      out.asFloatBuffer().put(bias);
      out.position(out.position() + 4 * bias.length);
    }
    CRC32C crc = new CRC32C();
    crc.update(out.array(), 0, out.position());
    out.putInt((int) crc.getValue());
    out.flip();
    Path temp = dir.resolve(target.getFileName() + ".tmp");
    try {
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        while (out.hasRemaining()) {
          channel.write(out);
        }
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    fsyncDirectory(dir);
  }

  /**
   * Adapts one query embedding: {@code normalize(W query + b)}, accumulated in double precision. A result of norm
   * zero stays zero (as the encoder treats a zero vector).
   *
   * @param query {@code float[dimension()]}, usually L2-normalised (not modified)
   * @return a new {@code float[dimension()]}, L2-normalised
   * @throws IllegalArgumentException if {@code query} has another length
   */
  public float[] apply(float[] query) {
    Objects.requireNonNull(query, "query is null");
    if (query.length != dimension) {
      throw new IllegalArgumentException("query embedding has dimension " + query.length + "; this adapter (for "
          + modelName + ") takes " + dimension);
    }
    double[] z = new double[dimension];
    double norm = 0;
    for (int i = 0; i < dimension; i++) {
      double s = bias != null ? bias[i] : 0;
      int row = i * dimension;
      for (int j = 0; j < dimension; j++) {
        s += (double) weights[row + j] * query[j];
      }
      z[i] = s;
      norm += s * s;
    }
    double inv = norm > 0 ? 1.0 / Math.sqrt(norm) : 0;
    float[] out = new float[dimension];
    for (int i = 0; i < dimension; i++) {
      out[i] = (float) (z[i] * inv);
    }
    return out;
  }

  /**
   * Adapts each row; see {@link #apply(float[])}.
   *
   * @param queries {@code float[n][dimension()]} (not modified)
   * @return a new {@code float[n][dimension()]}
   * @throws IllegalArgumentException naming the index of a row of another length
   */
  public float[][] applyAll(float[][] queries) {
    Objects.requireNonNull(queries, "queries is null");
    float[][] out = new float[queries.length][];
    for (int r = 0; r < queries.length; r++) {
      if (queries[r] == null || queries[r].length != dimension) {
        throw new IllegalArgumentException("queries[" + r + "] has " + (queries[r] == null ? "null" : "dimension "
            + queries[r].length) + "; this adapter takes " + dimension);
      }
      out[r] = apply(queries[r]);
    }
    return out;
  }

  /** The model this adapter was trained for: the encoder's {@link Encoder#modelName()}. */
  public String modelName() {
    return modelName;
  }

  /** The embedding dimension {@code d}. */
  public int dimension() {
    return dimension;
  }

  /** Whether the adapter has a bias term. */
  public boolean hasBias() {
    return bias != null;
  }

  /** A copy of {@code W}: {@code float[d][d]}, row-major. */
  public float[][] weights() {
    float[][] w = new float[dimension][];
    for (int i = 0; i < dimension; i++) {
      w[i] = Arrays.copyOfRange(weights, i * dimension, (i + 1) * dimension);
    }
    return w;
  }

  /** A copy of {@code b}: {@code float[d]}, all zero without a bias. */
  public float[] bias() {
    return bias != null ? bias.clone() : new float[dimension];
  }

  /** Whether {@code W} is exactly the identity and {@code b} (if any) exactly zero. */
  public boolean isIdentity() {
    for (int i = 0; i < dimension; i++) {
      for (int j = 0; j < dimension; j++) {
        if (weights[i * dimension + j] != (i == j ? 1f : 0f)) {
          return false;
        }
      }
      if (bias != null && bias[i] != 0f) {
        return false;
      }
    }
    return true;
  }

  /** Same model name, dimension, weights and bias (a zero bias and no bias differ). */
  @Override
  public boolean equals(Object o) {
    return o instanceof QueryAdapter a && a.modelName.equals(modelName) && a.dimension == dimension
        && Arrays.equals(a.weights, weights) && Arrays.equals(a.bias, bias);
  }

  @Override
  public int hashCode() {
    return Objects.hash(modelName, dimension, Arrays.hashCode(weights), Arrays.hashCode(bias));
  }

  @Override
  public String toString() {
    return "QueryAdapter[model=" + modelName + ", dim=" + dimension + ", bias=" + hasBias()
        + (isIdentity() ? ", identity" : "") + "]";
  }

  // ---------------------------------------------------------------------------------------------- internals

  private static void checkModelName(String modelName) {
    if (modelName == null || modelName.isBlank()) {
      throw new IllegalArgumentException("model name is " + (modelName == null ? "null" : "blank")
          + "; give the encoder's modelName()");
    }
    int bytes = modelName.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_MODEL_NAME_BYTES) {
      throw new IllegalArgumentException("model name is " + bytes + " UTF-8 bytes; at most " + MAX_MODEL_NAME_BYTES);
    }
  }

  private static void checkDimension(int d) {
    if (d < 1 || d > MAX_DIMENSION) {
      throw new IllegalArgumentException("dimension is " + d + "; allowed: 1 to " + MAX_DIMENSION);
    }
  }

  /** {@code rowLength} > 0 names a matrix entry as [row][col], 0 a vector entry as [i]. */
  private static void checkFinite(float[] values, String what, int rowLength) {
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        String at = rowLength > 0 ? "[" + i / rowLength + "][" + i % rowLength + "]" : "[" + i + "]";
        throw new IllegalArgumentException(what + at + " is " + values[i] + "; values must be finite");
      }
    }
  }

  private static IllegalArgumentException corrupt(Path file, String problem) {
    return new IllegalArgumentException("query adapter file " + file + " " + problem);
  }

  private static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Windows cannot open or fsync a directory; its rename is durable on its own
      if (!System.getProperty("os.name", "").startsWith("Windows")) {
        throw e;
      }
    }
  }
}
