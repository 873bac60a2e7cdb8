package dev.llmembedder.trainer.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The weights of a BERT encoder by their PyTorch names ({@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.3.attention.self.query.weight}, ...), in PyTorch's layout: a linear layer's weight is
 * {@code [out][in]}, row-major. Read from an fp32 ONNX export's initializers ({@link #fromOnnx}) or from a
 * {@code model.safetensors} file ({@link #fromSafetensors}).
 *
 * <p><b>ONNX.</b> An unfused export (PyTorch's {@code torch.onnx.export}, as HuggingFace Optimum runs it) keeps the
 * biases and LayerNorm parameters under their PyTorch names, but stores each linear weight transposed ({@code [in,
 * out]}) as an anonymous initializer ({@code onnx::MatMul_1525}) feeding a {@code MatMul}. Its layer is found by
 * walking the graph: the {@code MatMul}'s output feeds an {@code Add} whose other input is the bias
 * {@code encoder.layer.N.attention.self.query.bias}, so the weight is {@code encoder.layer.N.attention.self.query.weight}.
 * The mapping is kept ({@link #onnxNames}) so that trained weights can be written back into the same initializers.
 *
 * <p>Not thread-safe (the arrays are shared with the caller); immutable in use.
 */
final class BertWeights {
  /** The per-layer parameters of a HuggingFace {@code BertLayer}, after {@code encoder.layer.N.}. */
  static final List<String> LAYER_PARAMETERS = List.of(
      "attention.self.query.weight", "attention.self.query.bias",
      "attention.self.key.weight", "attention.self.key.bias",
      "attention.self.value.weight", "attention.self.value.bias",
      "attention.output.dense.weight", "attention.output.dense.bias",
      "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
      "intermediate.dense.weight", "intermediate.dense.bias",
      "output.dense.weight", "output.dense.bias",
      "output.LayerNorm.weight", "output.LayerNorm.bias");
  /** The embedding parameters of a HuggingFace {@code BertEmbeddings}. */
  static final List<String> EMBEDDING_PARAMETERS = List.of(
      "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias");

  /**
   * One parameter.
   *
   * @param shape PyTorch's shape
   * @param values row-major
   */
  record Tensor(long[] shape, float[] values) {}

  /**
   * Where a parameter lives in the ONNX file.
   *
   * @param initializer the initializer's name
   * @param transposed whether the file holds the transpose of the PyTorch tensor (a linear weight, {@code [in, out]})
   */
  record OnnxName(String initializer, boolean transposed) {}

  private final BertConfig config;
  private final Map<String, Tensor> tensors;
  private final Map<String, OnnxName> onnxNames;

  private BertWeights(BertConfig config, Map<String, Tensor> tensors, Map<String, OnnxName> onnxNames) {
    this.config = config;
    this.tensors = tensors;
    this.onnxNames = onnxNames;
  }

  BertConfig config() {
    return config;
  }

  /** Every parameter the forward pass uses, embeddings first, then layer by layer in {@link #LAYER_PARAMETERS} order. */
  Map<String, Tensor> tensors() {
    return tensors;
  }

  /** For each parameter, its initializer in the ONNX file it was read from (empty when read from safetensors). */
  Map<String, OnnxName> onnxNames() {
    return onnxNames;
  }

  /** Every parameter name the forward pass needs for {@code layers} layers, in order. */
  static List<String> parameterNames(int layers) {
    List<String> names = new ArrayList<>(EMBEDDING_PARAMETERS);
    for (int l = 0; l < layers; l++) {
      for (String p : LAYER_PARAMETERS) {
        names.add("encoder.layer." + l + "." + p);
      }
    }
    return names;
  }

  /**
   * Maps the initializers of an fp32 BERT export to the PyTorch parameters.
   *
   * @param heads attention heads (not in the weights)
   * @param layerNormEps LayerNorm's epsilon
   * @throws IllegalArgumentException naming the file and what is missing or ambiguous
   */
  static BertWeights fromOnnx(OnnxFile file, int heads, double layerNormEps) {
    Map<String, OnnxFile.Initializer> inits = file.initializers();
    String prefix = prefix(inits.keySet(), file.source());
    Map<String, OnnxName> names = new LinkedHashMap<>();
    for (String name : inits.keySet()) {
      if (name.startsWith(prefix) && !name.startsWith("onnx::")) {
        names.put(name.substring(prefix.length()), new OnnxName(name, false));
      }
    }
    // a MatMul on an initializer whose output feeds an Add with a named bias: that linear layer's weight
    Map<String, List<OnnxFile.Node>> consumers = new HashMap<>();
    for (OnnxFile.Node node : file.nodes()) {
      for (String input : node.inputs()) {
        consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(node);
      }
    }
    for (OnnxFile.Node node : file.nodes()) {
      if (!node.opType().equals("MatMul") || node.inputs().size() != 2 || !inits.containsKey(node.inputs().get(1))) {
        continue;
      }
      String weight = node.inputs().get(1);
      String bias = null;
      for (OnnxFile.Node add : consumers.getOrDefault(node.outputs().get(0), List.of())) {
        if (add.opType().equals("Add")) {
          for (String input : add.inputs()) {
            if (input.startsWith(prefix) && input.endsWith(".bias") && inits.containsKey(input)) {
              bias = input.substring(prefix.length());
            }
          }
        }
      }
      if (bias == null) {
        throw new IllegalArgumentException("ONNX model " + file.source() + ": MatMul '" + node.name() + "' multiplies"
            + " by initializer '" + weight + "' but its output feeds no Add with a named bias; expected an unfused"
            + " BERT export (each linear layer a MatMul then an Add of '<layer>.bias')");
      }
      String pytorchName = bias.substring(0, bias.length() - ".bias".length()) + ".weight";
      OnnxName previous = names.put(pytorchName, new OnnxName(weight, true));
      if (previous != null) {
        throw new IllegalArgumentException("ONNX model " + file.source() + ": both '" + previous.initializer()
            + "' and '" + weight + "' map to " + pytorchName);
      }
    }
    OnnxFile.Initializer words = required(inits, names, "embeddings.word_embeddings.weight", file.source());
    int layers = layers(names.keySet());
    int hidden = (int) words.dims()[1];
    OnnxFile.Initializer positions = required(inits, names, "embeddings.position_embeddings.weight", file.source());
    OnnxFile.Initializer intermediate = required(inits, names, "encoder.layer.0.intermediate.dense.bias",
        file.source());
    BertConfig config = new BertConfig(hidden, layers, heads, (int) intermediate.dims()[0], (int) words.dims()[0],
        (int) positions.dims()[0], layerNormEps);
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, OnnxName> used = new LinkedHashMap<>();
    for (String name : parameterNames(layers)) {
      OnnxFile.Initializer init = required(inits, names, name, file.source());
      OnnxName onnx = names.get(name);
      float[] values = file.floats(init);
      long[] shape = init.dims().clone();
      if (onnx.transposed()) {
        if (shape.length != 2) {
          throw new IllegalArgumentException("ONNX model " + file.source() + ": initializer '" + onnx.initializer()
              + "' (" + name + ") has " + shape.length + " dimensions; a linear weight has 2");
        }
        values = transpose(values, (int) shape[0], (int) shape[1]);
        shape = new long[] {shape[1], shape[0]};
      }
      tensors.put(name, new Tensor(shape, values));
      used.put(name, onnx);
    }
    return checked(new BertWeights(config, tensors, used), file.source());
  }

  /**
   * Reads {@code model.safetensors} (with DJL's reader, {@link NDList#decode(NDManager, InputStream)}): every
   * parameter by its PyTorch name, a leading {@code bert.} (or other) prefix dropped, other tensors (the pooler, a
   * head) ignored, other float types converted to fp32.
   *
   * @throws IllegalArgumentException naming the file and the missing parameter
   * @throws IOException if it cannot be read
   */
  static BertWeights fromSafetensors(Path file, NDManager manager, int heads, double layerNormEps) throws IOException {
    Map<String, Tensor> all = new HashMap<>();
    try (InputStream in = Files.newInputStream(file); NDManager scratch = manager.newSubManager();
        NDList list = NDList.decode(scratch, in)) {
      for (NDArray array : list) {
        NDArray floats = array.getDataType() == DataType.FLOAT32 ? array : array.toType(DataType.FLOAT32, false);
        all.put(array.getName(), new Tensor(floats.getShape().getShape(), floats.toFloatArray()));
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalArgumentException("cannot read safetensors file " + file + ": " + e.getMessage(), e);
    }
    String source = file.toString();
    String prefix = prefix(all.keySet(), source);
    Map<String, Tensor> named = new HashMap<>();
    all.forEach((k, v) -> {
      if (k.startsWith(prefix)) {
        named.put(k.substring(prefix.length()), v);
      }
    });
    Tensor words = requiredTensor(named, "embeddings.word_embeddings.weight", source);
    int layers = layers(named.keySet());
    BertConfig config = new BertConfig((int) words.shape()[1], layers, heads,
        (int) requiredTensor(named, "encoder.layer.0.intermediate.dense.bias", source).shape()[0],
        (int) words.shape()[0], (int) requiredTensor(named, "embeddings.position_embeddings.weight", source).shape()[0],
        layerNormEps);
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    for (String name : parameterNames(layers)) {
      tensors.put(name, requiredTensor(named, name, source));
    }
    return checked(new BertWeights(config, tensors, Map.of()), source);
  }

  /** These weights with other values (the same names and shapes), keeping the ONNX mapping. */
  BertWeights withValues(Map<String, float[]> values) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    tensors.forEach((name, t) -> {
      float[] v = values.get(name);
      if (v == null || v.length != t.values().length) {
        throw new IllegalArgumentException("parameter " + name + " has " + t.values().length + " values; "
            + (v == null ? "none" : v.length) + " were given");
      }
      out.put(name, new Tensor(t.shape(), v));
    });
    return new BertWeights(config, out, onnxNames);
  }

  /**
   * The initializer values to write into {@code file} (transposed back where the file holds the transpose).
   *
   * @throws IllegalStateException if these weights have no ONNX mapping for a parameter
   */
  Map<String, float[]> onnxValues() {
    Map<String, float[]> out = new LinkedHashMap<>();
    tensors.forEach((name, t) -> {
      OnnxName onnx = onnxNames.get(name);
      if (onnx == null) {
        throw new IllegalStateException("parameter " + name + " has no initializer in the ONNX file");
      }
      out.put(onnx.initializer(), onnx.transposed()
          ? transpose(t.values(), (int) t.shape()[0], (int) t.shape()[1]) : t.values());
    });
    return out;
  }

  /** Takes the ONNX mapping of {@code file} for weights read elsewhere (safetensors), checking shapes agree. */
  BertWeights withOnnxNamesOf(BertWeights file) {
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor other = file.tensors.get(e.getKey());
      if (other == null || !java.util.Arrays.equals(other.shape(), e.getValue().shape())) {
        throw new IllegalArgumentException("parameter " + e.getKey() + " has shape "
            + java.util.Arrays.toString(e.getValue().shape()) + " in the safetensors file but "
            + (other == null ? "is missing" : java.util.Arrays.toString(other.shape())) + " in the ONNX model");
      }
    }
    return new BertWeights(config, tensors, file.onnxNames);
  }

  static float[] transpose(float[] values, int rows, int columns) {
    float[] out = new float[values.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < columns; c++) {
        out[c * rows + r] = values[r * columns + c];
      }
    }
    return out;
  }

  /** What precedes {@code embeddings.word_embeddings.weight} (e.g. {@code bert.}), or "". */
  private static String prefix(Iterable<String> names, String source) {
    for (String name : names) {
      if (name.endsWith("embeddings.word_embeddings.weight")) {
        return name.substring(0, name.length() - "embeddings.word_embeddings.weight".length());
      }
    }
    throw new IllegalArgumentException(source + " has no 'embeddings.word_embeddings.weight': not a BERT encoder"
        + " (full fine-tuning supports BERT-like models: BGE, LLM-Embedder, E5)");
  }

  private static int layers(Iterable<String> names) {
    TreeSet<Integer> layers = new TreeSet<>();
    for (String name : names) {
      if (name.startsWith("encoder.layer.")) {
        int end = name.indexOf('.', "encoder.layer.".length());
        layers.add(Integer.parseInt(name.substring("encoder.layer.".length(), end)));
      }
    }
    if (layers.isEmpty() || layers.first() != 0 || layers.last() != layers.size() - 1) {
      throw new IllegalArgumentException("encoder layers " + layers + " are not numbered 0 to n - 1");
    }
    return layers.size();
  }

  private static OnnxFile.Initializer required(Map<String, OnnxFile.Initializer> inits, Map<String, OnnxName> names,
      String name, String source) {
    OnnxName onnx = names.get(name);
    if (onnx == null) {
      throw new IllegalArgumentException("ONNX model " + source + " has no initializer for BERT parameter " + name);
    }
    return inits.get(onnx.initializer());
  }

  private static Tensor requiredTensor(Map<String, Tensor> tensors, String name, String source) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(source + " has no BERT parameter " + name);
    }
    return t;
  }

  /** Checks every shape against the config. */
  private static BertWeights checked(BertWeights w, String source) {
    BertConfig c = w.config;
    int d = c.hiddenSize();
    for (Map.Entry<String, Tensor> e : w.tensors.entrySet()) {
      String name = e.getKey();
      long[] expected;
      if (name.equals("embeddings.word_embeddings.weight")) {
        expected = new long[] {c.vocabSize(), d};
      } else if (name.equals("embeddings.position_embeddings.weight")) {
        expected = new long[] {c.maxPositions(), d};
      } else if (name.equals("embeddings.token_type_embeddings.weight")) {
        expected = new long[] {e.getValue().shape()[0], d};
      } else if (name.endsWith("intermediate.dense.weight")) {
        expected = new long[] {c.intermediateSize(), d};
      } else if (name.endsWith("intermediate.dense.bias")) {
        expected = new long[] {c.intermediateSize()};
      } else if (name.endsWith(".output.dense.weight") && !name.contains("attention")) {
        expected = new long[] {d, c.intermediateSize()};
      } else if (name.endsWith(".weight") && !name.contains("LayerNorm")) {
        expected = new long[] {d, d};
      } else {
        expected = new long[] {d};
      }
      if (!java.util.Arrays.equals(expected, e.getValue().shape())) {
        throw new IllegalArgumentException(source + ": parameter " + name + " has shape "
            + java.util.Arrays.toString(e.getValue().shape()) + "; expected " + java.util.Arrays.toString(expected));
      }
    }
    return w;
  }
}
