package dev.llmembedder.trainer.finetune;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model file that hold and use its weights, read from the protobuf wire format with
 * protobuf-java's {@link CodedInputStream}: the graph's nodes (operator, inputs, outputs) and its initializers (name,
 * shape, element type, and where in the file their bytes lie). Everything else is skipped, and kept: export rewrites
 * initializer bytes in place in a copy of the file (see {@link #withFloats}).
 *
 * <p>Field numbers from ONNX's {@code onnx/onnx.proto} (IR version 10): {@code ModelProto.graph = 7};
 * {@code GraphProto.node = 1, initializer = 5}; {@code NodeProto.input = 1, output = 2, name = 3, op_type = 4};
 * {@code TensorProto.dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9, data_location = 14}
 * ({@code EXTERNAL = 1}); {@code TensorProto.DataType.FLOAT = 1}.
 *
 * <p>Immutable; holds the file's bytes (not copied).
 */
final class OnnxFile {
  /** {@code TensorProto.DataType.FLOAT}. */
  static final int FLOAT = 1;

  /** One graph node. */
  record Node(String name, String opType, List<String> inputs, List<String> outputs) {}

  /**
   * One initializer: its values are {@code length} bytes at {@code offset} of the file, little-endian
   * ({@code raw_data} or packed {@code float_data}: both are plain little-endian floats).
   */
  record Initializer(String name, long[] dims, int dataType, int offset, int length) {
    long elements() {
      long n = 1;
      for (long d : dims) {
        n *= d;
      }
      return n;
    }
  }

  private final byte[] bytes;
  private final String source;
  private final List<Node> nodes;
  private final Map<String, Initializer> initializers;

  private OnnxFile(byte[] bytes, String source, List<Node> nodes, Map<String, Initializer> initializers) {
    this.bytes = bytes;
    this.source = source;
    this.nodes = nodes;
    this.initializers = initializers;
  }

  /**
   * Parses an ONNX model.
   *
   * @param source where the bytes come from, for messages
   * @throws IllegalArgumentException naming {@code source} if the bytes are not an ONNX model with a graph, or an
   *     initializer keeps its data outside the file
   */
  static OnnxFile parse(byte[] bytes, String source) {
    List<Node> nodes = new ArrayList<>();
    Map<String, Initializer> initializers = new LinkedHashMap<>();
    try {
      CodedInputStream model = CodedInputStream.newInstance(bytes);
      model.setSizeLimit(Integer.MAX_VALUE);
      boolean graph = false;
      for (int tag; (tag = model.readTag()) != 0; ) {
        if (tag == ((7 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED)) {
          int length = model.readRawVarint32();
          int offset = model.getTotalBytesRead();
          readGraph(bytes, offset, length, source, nodes, initializers);
          model.skipRawBytes(length);
          graph = true;
        } else {
          model.skipField(tag);
        }
      }
      if (!graph) {
        throw new IllegalArgumentException("ONNX model " + source + " has no graph");
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith("ONNX model ")) {
        throw iae;
      }
      throw new IllegalArgumentException("ONNX model " + source + " is not a valid ONNX protobuf: " + e.getMessage(),
          e);
    }
    return new OnnxFile(bytes, source, List.copyOf(nodes), initializers);
  }

  private static void readGraph(byte[] bytes, int base, int length, String source, List<Node> nodes,
      Map<String, Initializer> initializers) throws IOException {
    CodedInputStream graph = CodedInputStream.newInstance(bytes, base, length);
    graph.setSizeLimit(Integer.MAX_VALUE);
    for (int tag; (tag = graph.readTag()) != 0; ) {
      int field = WireFormat.getTagFieldNumber(tag);
      if ((field == 1 || field == 5) && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        int size = graph.readRawVarint32();
        int offset = base + graph.getTotalBytesRead();
        if (field == 1) {
          nodes.add(readNode(bytes, offset, size));
        } else {
          Initializer init = readTensor(bytes, offset, size, source);
          initializers.put(init.name(), init);
        }
        graph.skipRawBytes(size);
      } else {
        graph.skipField(tag);
      }
    }
  }

  private static Node readNode(byte[] bytes, int base, int length) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(bytes, base, length);
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    String name = "";
    String op = "";
    for (int tag; (tag = in.readTag()) != 0; ) {
      switch (tag) {
        case (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> inputs.add(in.readStringRequireUtf8());
        case (2 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> outputs.add(in.readStringRequireUtf8());
        case (3 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> name = in.readStringRequireUtf8();
        case (4 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED -> op = in.readStringRequireUtf8();
        default -> in.skipField(tag);
      }
    }
    return new Node(name, op, List.copyOf(inputs), List.copyOf(outputs));
  }

  private static Initializer readTensor(byte[] bytes, int base, int length, String source) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(bytes, base, length);
    in.setSizeLimit(Integer.MAX_VALUE);
    List<Long> dims = new ArrayList<>();
    int dataType = 0;
    String name = "";
    int offset = -1;
    int size = 0;
    boolean external = false;
    for (int tag; (tag = in.readTag()) != 0; ) {
      int field = WireFormat.getTagFieldNumber(tag);
      int wire = WireFormat.getTagWireType(tag);
      if (field == 1 && wire == WireFormat.WIRETYPE_VARINT) {
        dims.add(in.readInt64());
      } else if (field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        int end = in.pushLimit(in.readRawVarint32());
        while (in.getBytesUntilLimit() > 0) {
          dims.add(in.readInt64());
        }
        in.popLimit(end);
      } else if (field == 2 && wire == WireFormat.WIRETYPE_VARINT) {
        dataType = in.readInt32();
      } else if ((field == 9 || field == 4) && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        size = in.readRawVarint32();
        offset = base + in.getTotalBytesRead();
        in.skipRawBytes(size);
      } else if (field == 8 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        name = in.readStringRequireUtf8();
      } else if (field == 14 && wire == WireFormat.WIRETYPE_VARINT) {
        external = in.readInt32() == 1;
      } else {
        in.skipField(tag);
      }
    }
    if (external) {
      throw new IllegalArgumentException("ONNX model " + source + ": initializer '" + name + "' keeps its data in an"
          + " external file; export the model with its weights inside (one .onnx file)");
    }
    long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
    return new Initializer(name, shape, dataType, offset, size);
  }

  String source() {
    return source;
  }

  List<Node> nodes() {
    return nodes;
  }

  /** By name, in file order. */
  Map<String, Initializer> initializers() {
    return initializers;
  }

  /**
   * The values of a float initializer.
   *
   * @throws IllegalArgumentException naming the initializer when it is not a float tensor whose bytes match its shape
   */
  float[] floats(Initializer init) {
    checkFloat(init);
    float[] out = new float[(int) init.elements()];
    ByteBuffer.wrap(bytes, init.offset(), init.length()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /**
   * A copy of the file with the given initializers' values replaced, everything else byte for byte as it was (an
   * fp32 tensor's bytes keep their length, so no enclosing message changes size).
   *
   * @param values by initializer name, each with exactly the initializer's number of elements
   * @throws IllegalArgumentException naming an unknown initializer or one whose length differs
   */
  byte[] withFloats(Map<String, float[]> values) {
    byte[] out = bytes.clone();
    for (Map.Entry<String, float[]> e : values.entrySet()) {
      Initializer init = initializers.get(e.getKey());
      if (init == null) {
        throw new IllegalArgumentException("ONNX model " + source + " has no initializer '" + e.getKey() + "'");
      }
      checkFloat(init);
      if (e.getValue().length != init.elements()) {
        throw new IllegalArgumentException("initializer '" + e.getKey() + "' of " + source + " has " + init.elements()
            + " elements; " + e.getValue().length + " were given");
      }
      ByteBuffer.wrap(out, init.offset(), init.length()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
          .put(e.getValue());
    }
    return out;
  }

  private void checkFloat(Initializer init) {
    if (init.dataType() != FLOAT || init.offset() < 0 || init.length() != 4L * init.elements()) {
      throw new IllegalArgumentException("initializer '" + init.name() + "' of ONNX model " + source + " is not a"
          + " float32 tensor stored in the file (data type " + init.dataType() + ", " + init.length() + " bytes for "
          + init.elements() + " elements); full fine-tuning needs the fp32 model");
    }
  }
}
