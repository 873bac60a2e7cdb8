package dev.llmembedder.index;

import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.vector.types.VectorFloat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;

/**
 * The vectors of a {@link VectorIndex} in slots addressed by dense ordinals, which are also the node ids of the
 * jvector graph. An upsert or delete leaves the old slot in place as a dead slot (id cleared, vector kept)
 * because the graph may still route through it; {@link #compacted()} drops dead slots.
 *
 * <p>File format ({@code vectors-<gen>.bin}, big-endian): magic, version, dimension, slot count, then per
 * slot the id (int byte length, -1 for a dead slot, then UTF-8 bytes) and {@code dimension} floats.
 *
 * <p>Not thread-safe: {@link VectorIndex} guards every access with its lock.
 */
final class VectorStore implements RandomAccessVectorValues {
  private static final int MAGIC = 0x4C455643; // "LEVC"
  private static final int VERSION = 1;
  private static final int DEAD = -1;
  private static final int MAX_ID_BYTES = 1 << 20;

  private final int dimension;
  private final ArrayList<VectorFloat<?>> vectors = new ArrayList<>();
  private final ArrayList<String> ids = new ArrayList<>();
  private final HashMap<String, Integer> ordinals = new HashMap<>();

  VectorStore(int dimension) {
    this.dimension = dimension;
  }

  int slotCount() {
    return vectors.size();
  }

  int liveCount() {
    return ordinals.size();
  }

  int deadCount() {
    return vectors.size() - ordinals.size();
  }

  boolean isLive(int ordinal) {
    return ids.get(ordinal) != null;
  }

  /** Returns the id in slot {@code ordinal}, or null for a dead slot. */
  String id(int ordinal) {
    return ids.get(ordinal);
  }

  /** Returns the live slot of {@code id}, or -1. */
  int ordinal(String id) {
    Integer ordinal = ordinals.get(id);
    return ordinal == null ? -1 : ordinal;
  }

  /** Stores {@code vector} under {@code id} in a new slot; returns the slot {@code id} held before, or -1. */
  int append(String id, VectorFloat<?> vector) {
    int ordinal = vectors.size();
    vectors.add(vector);
    ids.add(id);
    Integer previous = ordinals.put(id, ordinal);
    if (previous == null) {
      return -1;
    }
    ids.set(previous, null);
    return previous;
  }

  /** Marks the slot of {@code id} dead; returns that slot, or -1 if {@code id} is not live. */
  int remove(String id) {
    Integer ordinal = ordinals.remove(id);
    if (ordinal == null) {
      return -1;
    }
    ids.set(ordinal, null);
    return ordinal;
  }

  /** Returns a store holding only the live slots, in their current order. */
  VectorStore compacted() {
    VectorStore compacted = new VectorStore(dimension);
    for (int i = 0; i < vectors.size(); i++) {
      if (ids.get(i) != null) {
        compacted.append(ids.get(i), vectors.get(i));
      }
    }
    return compacted;
  }

  @Override
  public int size() {
    return vectors.size();
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public VectorFloat<?> getVector(int ordinal) {
    return vectors.get(ordinal);
  }

  @Override
  public boolean isValueShared() {
    return false;
  }

  @Override
  public VectorStore copy() {
    return this; // values are not shared scratch buffers, so one instance serves every thread
  }

  void writeTo(DataOutputStream out) throws IOException {
    out.writeInt(MAGIC);
    out.writeInt(VERSION);
    out.writeInt(dimension);
    out.writeInt(vectors.size());
    ByteBuffer floats = ByteBuffer.allocate(dimension * Float.BYTES);
    for (int i = 0; i < vectors.size(); i++) {
      String id = ids.get(i);
      if (id == null) {
        out.writeInt(DEAD);
      } else {
        byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
      }
      VectorFloat<?> vector = vectors.get(i);
      floats.clear();
      for (int j = 0; j < dimension; j++) {
        floats.putFloat(vector.get(j));
      }
      out.write(floats.array());
    }
  }

  /** Reads a store written by {@link #writeTo}; {@code file} only names the source in exceptions. */
  static VectorStore readFrom(DataInputStream in, int dimension, Path file) throws IOException {
    int magic = in.readInt();
    int version = in.readInt();
    if (magic != MAGIC || version != VERSION) {
      throw new CorruptIndexException(file, String.format("header is %08x version %d, expected %08x version %d",
          magic, version, MAGIC, VERSION));
    }
    int storedDimension = in.readInt();
    if (storedDimension != dimension) {
      throw new CorruptIndexException(file,
          "holds dimension " + storedDimension + ", manifest.json says " + dimension);
    }
    int slots = in.readInt();
    if (slots < 0) {
      throw new CorruptIndexException(file, "negative slot count " + slots);
    }
    VectorStore store = new VectorStore(dimension);
    byte[] floatBytes = new byte[dimension * Float.BYTES];
    for (int i = 0; i < slots; i++) {
      int idBytes = in.readInt();
      String id = null;
      if (idBytes != DEAD) {
        if (idBytes < 1 || idBytes > MAX_ID_BYTES) {
          throw new CorruptIndexException(file, "slot " + i + " has id length " + idBytes);
        }
        id = new String(in.readNBytes(idBytes), StandardCharsets.UTF_8);
      }
      in.readFully(floatBytes);
      float[] vector = new float[dimension];
      ByteBuffer.wrap(floatBytes).asFloatBuffer().get(vector);
      for (int j = 0; j < dimension; j++) {
        if (!Float.isFinite(vector[j])) { // was loaded, and failed the first search (found by fuzzing)
          throw new CorruptIndexException(file, "slot " + i + " has component " + j + " = " + vector[j]
              + "; embeddings are finite");
        }
      }
      double norm = Checks.norm(vector);
      if (norm > Checks.MAX_NORM) { // opened, and the first search overflowed to -Infinity (found by fuzzing)
        throw new CorruptIndexException(file, "slot " + i + " has L2 norm " + norm + "; embeddings have norm at most "
            + Checks.MAX_NORM);
      }
      VectorFloat<?> v = Checks.VECTORS.createFloatVector(vector);
      if (id == null) {
        store.vectors.add(v);
        store.ids.add(null);
      } else if (store.append(id, v) != -1) {
        throw new CorruptIndexException(file, "id \"" + id + "\" is stored twice");
      }
    }
    if (in.read() != -1) {
      throw new CorruptIndexException(file, "trailing bytes after " + slots + " slots");
    }
    return store;
  }
}
