package dev.llmembedder.encoder;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import dev.llmembedder.internal.onnx.Onnx.AttributeProto;
import dev.llmembedder.internal.onnx.Onnx.GraphProto;
import dev.llmembedder.internal.onnx.Onnx.ModelProto;
import dev.llmembedder.internal.onnx.Onnx.NodeProto;
import dev.llmembedder.internal.onnx.Onnx.OperatorSetIdProto;
import dev.llmembedder.internal.onnx.Onnx.TensorProto;
import dev.llmembedder.internal.onnx.Onnx.TensorShapeProto;
import dev.llmembedder.internal.onnx.Onnx.TypeProto;
import dev.llmembedder.internal.onnx.Onnx.ValueInfoProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A load-time rewrite of a BERT-like ONNX graph (as {@code torch.onnx} / HuggingFace Optimum export {@code BertModel},
 * fp32 or dynamically quantised by ONNX Runtime's {@code quantize_dynamic}) into ONNX Runtime's fused contrib operators
 * ({@code com.microsoft} domain, see ONNX Runtime's {@code docs/ContribOperators.md}):
 *
 * <ul>
 *   <li>fp32: each self-attention block (three projections, reshapes, transposes, scaled scores, additive padding
 *       mask, softmax, context) becomes one {@code Attention} node with packed weights {@code [H, 3H]} and bias
 *       {@code [3H]}; int8: the block's attention core (head split, scaled scores, padding mask, softmax, context, head
 *       merge) becomes one {@code MultiHeadAttention} node over the export's own three quantised projections, which
 *       ONNX Runtime runs as one shared {@code DynamicQuantizeLinear} and three {@code MatMulIntegerToFloat} (its
 *       {@code QAttention} computes the projections as {@code 3 x batch x heads} products of {@code head size}
 *       columns each, 7% slower on a batch of 32 queries of 23 tokens); both are fed the raw {@code attention_mask} as
 *       int32;
 *   <li>fp32 only: each {@code LayerNorm(x + bias + residual)}, decomposed by the export into
 *       ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add, becomes one {@code SkipLayerNormalization} (bias, residual add and
 *       normalisation in one pass; in the int8 graph its different rounding moves the next layer's per-tensor
 *       quantisation, and so the embeddings, by about 2e-3);
 *   <li>with {@code pruneToCls} (CLS pooling, right padding): the last layer computes its query, attention output,
 *       feed-forward and layer norms for position 0 only (keys and values still over every token, through
 *       {@code MultiHeadAttention}); the graph output becomes the pooled {@code [batch, H]} tensor
 *       {@value #CLS_OUTPUT}.
 * </ul>
 *
 * <p>The rewrite is all or nothing: a graph in which any attention block or the padding mask does not have exactly the
 * expected form is left unchanged ({@link #rewrite} returns empty and says why at debug level). The arithmetic is the
 * original's, reordered by ONNX Runtime's kernels: fp32 embeddings agree to cosine >= 0.9999; int8 ones move as the
 * original's do with their batchmates (per-tensor activation scales), and in the pruned last layer the feed-forward
 * input's scale is taken over the CLS row alone.
 *
 * <p>Stateless and thread-safe.
 */
final class GraphRewrite {
  private static final Logger LOG = LoggerFactory.getLogger(GraphRewrite.class);
  static final String CLS_OUTPUT = "cls_embedding";
  private static final String MS = "com.microsoft";
  private static final String MASK = "attention_mask";
  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  private static final int INT8 = TensorProto.DataType.INT8_VALUE;
  private static final int INT32 = TensorProto.DataType.INT32_VALUE;
  private static final int INT64 = TensorProto.DataType.INT64_VALUE;

  /** The rewritten model and what was done to it. */
  record Result(byte[] model, String outputName, int attentionBlocks, int skipLayerNorms, boolean prunedToCls,
      boolean quantized) {
    /** The same without the model's bytes (for keeping after the session is open). */
    Result summary() {
      return new Result(null, outputName, attentionBlocks, skipLayerNorms, prunedToCls, quantized);
    }

    @Override
    public String toString() {
      return attentionBlocks + " " + (quantized ? "MultiHeadAttention" : "Attention")
          + (skipLayerNorms > 0 ? ", " + skipLayerNorms + " SkipLayerNormalization" : "")
          + (prunedToCls ? ", last layer pruned to the CLS row" : "");
    }
  }

  /** Why a graph is not rewritten. */
  private static final class NoMatch extends Exception {
    NoMatch(String why) {
      super(why, null, false, false);
    }
  }

  private GraphRewrite() {}

  /**
   * Rewrites {@code onnx} if it is a graph this class recognises.
   *
   * @param outputName the output the encoder pools ({@code last_hidden_state}); pruning needs it to be the last
   *     layer's output
   * @return the rewritten model, or empty (the reason logged at debug) when the graph is not recognised
   */
  static Optional<Result> rewrite(byte[] onnx, String outputName, boolean pruneToCls, String source) {
    try {
      return Optional.of(new Rewriter(parse(onnx)).run(outputName, pruneToCls));
    } catch (NoMatch e) {
      LOG.debug("graph of {} left as it is: {}", source, e.getMessage());
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      LOG.debug("graph of {} left as it is: cannot read it ({})", source, e.toString());
      return Optional.empty();
    } catch (OutOfMemoryError e) { // the parsed and rewritten copies are garbage once this returns
      LOG.warn("graph of {} left as it is: the rewrite needs two to three times the model's size of heap ({}); give"
          + " the JVM more heap (-Xmx) for the faster graph", source, e.toString());
      return Optional.empty();
    }
  }

  private static ModelProto parse(byte[] onnx) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(onnx);
    in.enableAliasing(true); // the weights' ByteStrings share the array instead of copying it
    in.setSizeLimit(Integer.MAX_VALUE);
    return ModelProto.parseFrom(in);
  }

  /** One self-attention block as the export writes it. */
  private record Block(Node softmax, String ctx, int heads, String x, Proj q, Proj k, Proj v, Node quantizer) {
    boolean quantized() {
      return quantizer != null;
    }
  }

  /**
   * One projection {@code input x W + b}: fp32 ({@code matmul} is a MatMul, {@code weight} [Hin, H] float) or int8
   * ({@code matmul} a MatMulInteger over the quantizer's output, {@code weight} [Hin, H] int8 with per-column
   * {@code scale} and {@code zeroPoint}). {@code out} is the tensor after the bias add.
   */
  private record Proj(String out, Node matmul, String weight, String bias, String scale, String zeroPoint,
      String inputScale) {}

  /** A node with its index in the working list. */
  private static final class Node {
    NodeProto proto;
    boolean removed;

    Node(NodeProto proto) {
      this.proto = proto;
    }

    String op() {
      return proto.getDomain().isEmpty() || proto.getDomain().equals("ai.onnx") ? proto.getOpType()
          : proto.getDomain() + ":" + proto.getOpType();
    }

    String in(int i) {
      return i < proto.getInputCount() ? proto.getInput(i) : "";
    }

    String out() {
      return proto.getOutput(0);
    }
  }

  private static final class Rewriter {
    private final ModelProto model;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Node> producer = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();
    private final Map<String, TensorProto> initializers = new LinkedHashMap<>();
    private final Set<String> graphInputs = new HashSet<>();
    private final List<TensorProto> added = new ArrayList<>();
    private int fresh;

    Rewriter(ModelProto model) throws NoMatch {
      this.model = model;
      GraphProto g = model.getGraph();
      for (TensorProto t : g.getInitializerList()) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
          throw new NoMatch("initializer " + t.getName() + " has external data");
        }
        initializers.put(t.getName(), t);
      }
      g.getInputList().forEach(i -> graphInputs.add(i.getName()));
      for (NodeProto p : g.getNodeList()) {
        Node n = new Node(p);
        nodes.add(n);
        for (String o : p.getOutputList()) {
          producer.put(o, n);
        }
        for (String i : p.getInputList()) {
          consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
        }
      }
    }

    Result run(String outputName, boolean pruneToCls) throws NoMatch {
      if (!graphInputs.contains(MASK)) {
        throw new NoMatch("no graph input " + MASK);
      }
      if (model.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals(MS))) {
        throw new NoMatch("the graph already uses com.microsoft operators (optimised before)");
      }
      List<Block> blocks = new ArrayList<>();
      for (Node n : new ArrayList<>(nodes)) {
        if (n.op().equals("Softmax")) {
          blocks.add(matchBlock(n));
        }
      }
      if (blocks.isEmpty()) {
        throw new NoMatch("no Softmax: not a transformer graph");
      }
      boolean quantized = blocks.get(0).quantized();
      for (Block b : blocks) {
        if (b.quantized() != quantized) {
          throw new NoMatch("some attention blocks are quantized and some are not");
        }
      }
      String mask32 = mask32();
      boolean prune = pruneToCls && canPrune(blocks.get(blocks.size() - 1), outputName);
      for (int i = 0; i < blocks.size(); i++) {
        Block b = blocks.get(i);
        if (prune && i == blocks.size() - 1) {
          pruneLast(b, mask32, outputName);
        } else if (quantized) {
          fuseCore(b, mask32);
        } else {
          fuse(b, mask32);
        }
      }
      // fp32 only: in the int8 graph the next layer quantises the layer norm's output per tensor, and
      // SkipLayerNormalization's different rounding (ulps) flips enough of those roundings to move embeddings by ~2e-3
      int skips = quantized ? 0 : fuseSkipLayerNorms();
      return new Result(write(prune, outputName), prune ? CLS_OUTPUT : outputName, blocks.size(), skips, prune,
          quantized);
    }

    // ------------------------------------------------------------------------------------------- matching

    private Node producerOf(String tensor, String op, String what) throws NoMatch {
      Node n = producer.get(tensor);
      if (n == null || n.removed || !n.op().equals(op)) {
        throw new NoMatch(what + ": expected " + op + " producing " + tensor + ", found "
            + (n == null ? "a graph input or initializer" : n.op() + " " + n.proto.getName()));
      }
      return n;
    }

    private List<Node> consumersOf(String tensor) {
      return consumers.getOrDefault(tensor, List.of()).stream().filter(n -> !n.removed).toList();
    }

    private Node onlyConsumer(String tensor, String op, String what) throws NoMatch {
      List<Node> c = consumersOf(tensor);
      if (c.size() != 1 || !c.get(0).op().equals(op)) {
        throw new NoMatch(what + ": expected one " + op + " consuming " + tensor + ", found "
            + c.stream().map(Node::op).toList());
      }
      return c.get(0);
    }

    /** The one Reshape consuming {@code tensor}, besides Shape nodes (which compute the target shape from it). */
    private Node reshapeConsumer(String tensor, String what) throws NoMatch {
      List<Node> c = consumersOf(tensor);
      List<Node> reshapes = c.stream().filter(n -> n.op().equals("Reshape")).toList();
      if (reshapes.size() != 1 || c.stream().anyMatch(n -> !n.op().equals("Reshape") && !n.op().equals("Shape"))) {
        throw new NoMatch(what + ": expected one Reshape (and Shape nodes) consuming " + tensor + ", found "
            + c.stream().map(Node::op).toList());
      }
      return reshapes.get(0);
    }

    private static long[] ints(AttributeProto a) {
      return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    private static Optional<AttributeProto> attribute(Node n, String name) {
      return n.proto.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst();
    }

    private void transpose(Node n, long[] perm, String what) throws NoMatch {
      long[] actual = attribute(n, "perm").map(Rewriter::ints).orElse(new long[0]);
      if (!java.util.Arrays.equals(actual, perm)) {
        throw new NoMatch(what + ": Transpose " + n.proto.getName() + " has perm " + java.util.Arrays.toString(actual)
            + ", expected " + java.util.Arrays.toString(perm));
      }
    }

    /** The value of an initializer or Constant node, or null if the tensor is computed. */
    private TensorProto constant(String name) {
      TensorProto t = initializers.get(name);
      if (t != null) {
        return t;
      }
      Node n = producer.get(name);
      if (n != null && n.op().equals("Constant")) {
        return attribute(n, "value").filter(AttributeProto::hasT).map(AttributeProto::getT).orElse(null);
      }
      return null;
    }

    private double scalar(String name) {
      TensorProto t = constant(name);
      if (t == null || elements(t) != 1) {
        return Double.NaN;
      }
      return t.getDataType() == FLOAT ? floats(t)[0] : t.getDataType() == INT64 ? longs(t)[0] : Double.NaN;
    }

    private Block matchBlock(Node softmax) throws NoMatch {
      String what = "attention " + softmax.proto.getName();
      long axis = attribute(softmax, "axis").map(AttributeProto::getI).orElse(-1L);
      if (axis != 3 && axis != -1) {
        throw new NoMatch(what + ": Softmax over axis " + axis);
      }
      Node addMask = producerOf(softmax.in(0), "Add", what);
      String scores;
      if (isPaddingMask(addMask.in(1))) {
        scores = addMask.in(0);
      } else if (isPaddingMask(addMask.in(0))) {
        scores = addMask.in(1);
      } else {
        throw new NoMatch(what + ": the scores' Add " + addMask.proto.getName() + " adds no padding mask made from "
            + MASK + " (expected (1 - mask) x a large negative number)");
      }
      Node div = producerOf(scores, "Div", what);
      Node qk = producerOf(div.in(0), "MatMul", what);
      Node qT = producerOf(qk.in(0), "Transpose", what);
      transpose(qT, new long[] {0, 2, 1, 3}, what);
      Node kT = producerOf(qk.in(1), "Transpose", what);
      transpose(kT, new long[] {0, 2, 3, 1}, what);
      Node qR = producerOf(qT.in(0), "Reshape", what);
      Node kR = producerOf(kT.in(0), "Reshape", what);
      Node sv = onlyConsumer(softmax.out(), "MatMul", what);
      if (!sv.in(0).equals(softmax.out())) {
        throw new NoMatch(what + ": the probabilities are not the left operand of " + sv.proto.getName());
      }
      Node vT = producerOf(sv.in(1), "Transpose", what);
      transpose(vT, new long[] {0, 2, 1, 3}, what);
      Node vR = producerOf(vT.in(0), "Reshape", what);
      Node ctxT = onlyConsumer(sv.out(), "Transpose", what);
      transpose(ctxT, new long[] {0, 2, 1, 3}, what);
      Node ctxR = reshapeConsumer(ctxT.out(), what);
      int[] heads = headShape(qR.in(1), what);
      for (Node r : List.of(kR, vR)) {
        if (!java.util.Arrays.equals(heads, headShape(r.in(1), what))) {
          throw new NoMatch(what + ": query, key and value are split into different heads");
        }
      }
      double divisor = scalar(div.in(1));
      if (Math.abs(divisor - Math.sqrt(heads[1])) > 1e-5 * Math.sqrt(heads[1])) {
        throw new NoMatch(what + ": scores divided by " + divisor + ", not sqrt(head size " + heads[1] + ")");
      }
      Proj q = projection(qR.in(0), what);
      Proj k = projection(kR.in(0), what);
      Proj v = projection(vR.in(0), what);
      String x = q.matmul.in(0);
      if (!k.matmul.in(0).equals(x) || !v.matmul.in(0).equals(x)) {
        throw new NoMatch(what + ": query, key and value are projections of different inputs");
      }
      Node quantizer = null;
      if (q.scale != null) {
        if (k.scale == null || v.scale == null) {
          throw new NoMatch(what + ": some projections are quantized and some are not");
        }
        quantizer = producerOf(x, "DynamicQuantizeLinear", what);
        for (Proj p : List.of(q, k, v)) {
          if (!p.matmul.in(2).equals(quantizer.proto.getOutput(2))
              || !p.inputScale.equals(quantizer.proto.getOutput(1))) {
            throw new NoMatch(what + ": " + p.matmul.proto.getName() + " does not use its input's scale and zero point");
          }
        }
      } else if (k.scale != null || v.scale != null) {
        throw new NoMatch(what + ": some projections are quantized and some are not");
      }
      int hidden = heads[0] * heads[1];
      for (Proj p : List.of(q, k, v)) {
        TensorProto w = initializers.get(p.weight);
        if (w.getDimsCount() != 2 || w.getDims(1) != hidden) {
          throw new NoMatch(what + ": weight " + p.weight + " has shape " + w.getDimsList() + ", expected [*, "
              + hidden + "]");
        }
      }
      return new Block(softmax, ctxR.out(), heads[0], quantizer != null ? quantizer.in(0) : x, q, k, v, quantizer);
    }

    /** {heads, headSize} from a Reshape's target shape [batch, seq, heads, headSize]. */
    private int[] headShape(String shape, String what) throws NoMatch {
      TensorProto t = constant(shape);
      long[] dims;
      if (t != null && t.getDataType() == INT64 && elements(t) == 4) {
        dims = longs(t);
      } else {
        Node concat = producerOf(shape, "Concat", what);
        if (concat.proto.getInputCount() != 4) {
          throw new NoMatch(what + ": head split shape " + shape + " has " + concat.proto.getInputCount() + " parts");
        }
        dims = new long[] {0, 0, (long) scalar(concat.in(2)), (long) scalar(concat.in(3))};
      }
      if (dims[2] < 1 || dims[3] < 1) {
        throw new NoMatch(what + ": head split shape " + shape + " is not [batch, seq, heads, head size]");
      }
      return new int[] {(int) dims[2], (int) dims[3]};
    }

    /** {@code out} = bias + projection, fp32 or dynamically quantized. */
    private Proj projection(String out, String what) throws NoMatch {
      Node add = producerOf(out, "Add", what);
      String bias;
      String product;
      if (isVector(add.in(0))) {
        bias = add.in(0);
        product = add.in(1);
      } else if (isVector(add.in(1))) {
        bias = add.in(1);
        product = add.in(0);
      } else {
        throw new NoMatch(what + ": " + add.proto.getName() + " adds no bias vector");
      }
      Node p = producer.get(product);
      if (p != null && p.op().equals("MatMul") && isFloatMatrix(p.in(1))) {
        return new Proj(out, p, p.in(1), bias, null, null, null);
      }
      // int8: Mul(Cast(MatMulInteger(xq, w, xzp, wzp)), Mul(xscale, wscale))
      Node mul = producerOf(product, "Mul", what);
      for (int side = 0; side < 2; side++) {
        Node cast = producer.get(mul.in(side));
        Node scales = producer.get(mul.in(1 - side));
        if (cast == null || !cast.op().equals("Cast") || scales == null || !scales.op().equals("Mul")) {
          continue;
        }
        Node mmi = producerOf(cast.in(0), "MatMulInteger", what);
        TensorProto w = initializers.get(mmi.in(1));
        TensorProto wzp = initializers.get(mmi.in(3));
        if (w == null || w.getDataType() != INT8 || wzp == null || wzp.getDataType() != INT8) {
          throw new NoMatch(what + ": " + mmi.proto.getName() + " has no int8 weight and zero point initializers");
        }
        long cols = w.getDims(1);
        String wscale = isFloatVector(scales.in(1), cols) ? scales.in(1)
            : isFloatVector(scales.in(0), cols) ? scales.in(0) : null;
        if (wscale == null || elements(wzp) != cols) {
          throw new NoMatch(what + ": " + mmi.proto.getName() + " is not quantized per column");
        }
        return new Proj(out, mmi, mmi.in(1), bias, wscale, mmi.in(3), otherInput(scales, wscale));
      }
      throw new NoMatch(what + ": " + product + " is neither a MatMul by a weight nor a dequantized MatMulInteger");
    }

    private boolean isVector(String name) {
      TensorProto t = initializers.get(name);
      return t != null && t.getDataType() == FLOAT && t.getDimsCount() == 1;
    }

    private boolean isFloatVector(String name, long length) {
      TensorProto t = initializers.get(name);
      return t != null && t.getDataType() == FLOAT && t.getDimsCount() == 1 && t.getDims(0) == length;
    }

    private boolean isFloatMatrix(String name) {
      TensorProto t = initializers.get(name);
      return t != null && t.getDataType() == FLOAT && t.getDimsCount() == 2;
    }

    /**
     * Whether {@code tensor} is the export's additive padding mask: {@code (1 - mask) x c} with c at most -10,000,
     * computed by Unsqueeze/Cast/Sub/Mul from the graph input {@value #MASK} alone.
     */
    private boolean isPaddingMask(String tensor) {
      Node mul = producer.get(tensor);
      if (mul == null || !mul.op().equals("Mul")) {
        return false;
      }
      int side = scalar(mul.in(1)) <= -1e4 ? 0 : scalar(mul.in(0)) <= -1e4 ? 1 : -1;
      if (side < 0) {
        return false;
      }
      Node sub = producer.get(mul.in(side));
      if (sub == null || !sub.op().equals("Sub") || scalar(sub.in(0)) != 1.0) {
        return false;
      }
      String t = sub.in(1);
      for (int depth = 0; depth < 4; depth++) {
        if (t.equals(MASK)) {
          return true;
        }
        Node n = producer.get(t);
        if (n == null || !(n.op().equals("Cast") || n.op().equals("Unsqueeze"))) {
          return false;
        }
        t = n.in(0);
      }
      return false;
    }

    // ------------------------------------------------------------------------------------------- emitting

    private String name(String hint) {
      return "llmembedder_rewrite/" + hint + "_" + fresh++;
    }

    private void addNode(NodeProto p) {
      Node n = new Node(p);
      nodes.add(n);
      for (String o : p.getOutputList()) {
        producer.put(o, n);
      }
      for (String i : p.getInputList()) {
        consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
      }
    }

    /** Removes the node producing {@code tensor}, so that a new node can produce it. */
    private void unproduce(String tensor) {
      Node old = producer.remove(tensor);
      if (old != null) {
        old.removed = true;
      }
    }

    private static NodeProto.Builder node(String op, String domain, String name, List<String> in, String out) {
      NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out);
      if (domain != null) {
        b.setDomain(domain);
      }
      return b;
    }

    private static AttributeProto intAttr(String name, long value) {
      return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    private static AttributeProto floatAttr(String name, float value) {
      return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }

    private static AttributeProto intsAttr(String name, long... values) {
      AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
      for (long v : values) {
        b.addInts(v);
      }
      return b.build();
    }

    /** The attention mask as int32, as the fused attention operators take it. */
    private String mask32() {
      String out = name("attention_mask_int32");
      addNode(node("Cast", null, out, List.of(MASK), out).addAttribute(intAttr("to", INT32)).build());
      return out;
    }

    private String initializer(String hint, int type, long[] dims, byte[] data) {
      String n = name(hint);
      TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(type).setRawData(ByteString.copyFrom(data));
      for (long d : dims) {
        t.addDims(d);
      }
      TensorProto built = t.build();
      added.add(built);
      initializers.put(n, built);
      return n;
    }

    /** Row-major [rows, sum of cols] from [rows, cols_i] blocks of {@code width}-byte elements. */
    private byte[] concatColumns(List<String> names, int width) {
      List<byte[]> parts = new ArrayList<>();
      long rows = -1;
      int total = 0;
      for (String n : names) {
        TensorProto t = initializers.get(n);
        rows = t.getDimsCount() == 2 ? t.getDims(0) : 1;
        parts.add(raw(t, width));
        total += parts.get(parts.size() - 1).length;
      }
      byte[] out = new byte[total];
      int pos = 0;
      for (int r = 0; r < rows; r++) {
        for (byte[] p : parts) {
          int rowBytes = (int) (p.length / rows);
          System.arraycopy(p, r * rowBytes, out, pos, rowBytes);
          pos += rowBytes;
        }
      }
      return out;
    }

    private long[] packedDims(Block b) {
      TensorProto w = initializers.get(b.q.weight);
      return new long[] {w.getDims(0), 3 * w.getDims(1)};
    }

    private void fuse(Block b, String mask32) {
      List<Proj> qkv = List.of(b.q, b.k, b.v);
      String w = initializer("qkv_weight", FLOAT, packedDims(b), concatColumns(qkv.stream().map(Proj::weight).toList(), 4));
      String bias = initializer("qkv_bias", FLOAT, new long[] {3 * vectorLength(b.q.bias)},
          concatColumns(qkv.stream().map(Proj::bias).toList(), 4));
      unproduce(b.ctx);
      addNode(node("Attention", MS, name("Attention"), List.of(b.x, w, bias, mask32), b.ctx)
          .addAttribute(intAttr("num_heads", b.heads)).build());
    }

    /**
     * The attention core alone (head split, scaled scores, padding mask, softmax, context, head merge) into one
     * {@code MultiHeadAttention} over the block's own query, key and value projections.
     */
    private void fuseCore(Block b, String mask32) {
      unproduce(b.ctx);
      addNode(node("MultiHeadAttention", MS, name("MultiHeadAttention"), List.of(b.q.out, b.k.out, b.v.out, "", mask32),
          b.ctx).addAttribute(intAttr("num_heads", b.heads)).build());
    }

    private long vectorLength(String name) {
      return initializers.get(name).getDims(0);
    }

    /**
     * The nodes computing {@code output} from the last block's context: every one must work row by row (so that one
     * row in gives that row out), taking besides the context only constants and the layer's input (the residual).
     */
    private boolean canPrune(Block last, String output) throws NoMatch {
      Set<Node> downstream = downstream(last.ctx);
      Set<String> computed = new HashSet<>(List.of(last.ctx));
      downstream.forEach(n -> computed.addAll(n.proto.getOutputList()));
      if (!computed.contains(output)) {
        LOG.debug("not pruning to the CLS row: output {} does not follow from the last attention block", output);
        return false;
      }
      Set<String> rowWise = Set.of("MatMul", "MatMulInteger", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Erf",
          "Cast", "ReduceMean", "DynamicQuantizeLinear");
      for (Node n : downstream) {
        if (!rowWise.contains(n.op())) {
          LOG.debug("not pruning to the CLS row: {} {} after the last attention block", n.op(), n.proto.getName());
          return false;
        }
        if (n.op().equals("ReduceMean") && !java.util.Arrays.equals(
            attribute(n, "axes").map(Rewriter::ints).orElse(new long[0]), new long[] {-1})) {
          LOG.debug("not pruning to the CLS row: {} does not reduce the last axis", n.proto.getName());
          return false;
        }
        for (String in : n.proto.getInputList()) {
          if (!in.isEmpty() && !computed.contains(in) && !in.equals(last.x) && constant(in) == null) {
            LOG.debug("not pruning to the CLS row: {} takes {}", n.proto.getName(), in);
            return false;
          }
        }
      }
      return true;
    }

    private Set<Node> downstream(String tensor) {
      Set<Node> seen = new java.util.LinkedHashSet<>();
      ArrayDeque<String> todo = new ArrayDeque<>(List.of(tensor));
      while (!todo.isEmpty()) {
        for (Node c : consumersOf(todo.pop())) {
          if (seen.add(c)) {
            todo.addAll(c.proto.getOutputList());
          }
        }
      }
      return seen;
    }

    /** Slice(t, [0], [1], axes [1]): position 0 of each row, shape [batch, 1, ...]. */
    private String firstPosition(String t) {
      String zero = initializer("zero", INT64, new long[] {1}, le(0L));
      String one = initializer("one", INT64, new long[] {1}, le(1L));
      String out = name("cls_row");
      addNode(node("Slice", null, out, List.of(t, zero, one, one), out).build());
      return out;
    }

    private void pruneLast(Block b, String mask32, String output) {
      Set<Node> downstream = downstream(b.ctx);
      String layerInput = b.quantized() ? b.quantizer.in(0) : b.x;
      String cls = firstPosition(layerInput);
      for (Node n : downstream) { // the residual: the CLS row of the layer input
        if (n.proto.getInputList().contains(layerInput)) {
          NodeProto.Builder p = n.proto.toBuilder();
          for (int i = 0; i < p.getInputCount(); i++) {
            if (p.getInput(i).equals(layerInput)) {
              p.setInput(i, cls);
            }
          }
          n.proto = p.build();
          consumers.computeIfAbsent(cls, k -> new ArrayList<>()).add(n);
        }
      }
      String query;
      if (b.quantized()) { // the CLS row of the quantized input, with the scale and zero point of all rows
        NodeProto qz = b.quantizer.proto;
        String rows = firstPosition(qz.getOutput(0));
        String product = name("cls_query_int32");
        addNode(node("MatMulInteger", null, product, List.of(rows, b.q.weight, qz.getOutput(2), b.q.zeroPoint),
            product).build());
        String asFloat = name("cls_query_float");
        addNode(node("Cast", null, asFloat, List.of(product), asFloat).addAttribute(intAttr("to", FLOAT)).build());
        String scales = name("cls_query_scale");
        addNode(node("Mul", null, scales, List.of(qz.getOutput(1), b.q.scale), scales).build());
        query = name("cls_query_unbiased");
        addNode(node("Mul", null, query, List.of(asFloat, scales), query).build());
      } else {
        query = name("cls_query_unbiased");
        addNode(node("MatMul", null, query, List.of(cls, b.q.weight), query).build());
      }
      String q = name("cls_query");
      addNode(node("Add", null, q, List.of(query, b.q.bias), q).build());
      unproduce(b.ctx);
      addNode(node("MultiHeadAttention", MS, name("MultiHeadAttention"), List.of(q, b.k.out, b.v.out, "", mask32),
          b.ctx).addAttribute(intAttr("num_heads", b.heads)).build());
      addNode(node("Squeeze", null, CLS_OUTPUT, List.of(output), CLS_OUTPUT).addAttribute(intsAttr("axes", 1))
          .build());
    }

    /**
     * LayerNorm(bias + p + residual) as the export decomposes it, into SkipLayerNormalization(p, residual, gamma,
     * beta, bias).
     */
    private int fuseSkipLayerNorms() {
      int count = 0;
      for (Node n : new ArrayList<>(nodes)) {
        if (n.removed || !n.op().equals("ReduceMean")) {
          continue;
        }
        try {
          count += fuseSkipLayerNorm(n) ? 1 : 0;
        } catch (NoMatch e) {
          LOG.trace("no SkipLayerNormalization at {}: {}", n.proto.getName(), e.getMessage());
        }
      }
      return count;
    }

    private boolean fuseSkipLayerNorm(Node mean) throws NoMatch {
      String what = "layer norm " + mean.proto.getName();
      String x = mean.in(0);
      List<Node> subs = consumersOf(mean.out());
      if (subs.size() != 1 || !subs.get(0).op().equals("Sub") || !subs.get(0).in(0).equals(x)) {
        return false; // the second ReduceMean of a layer norm, or something else
      }
      Node sub = subs.get(0);
      Node pow = null;
      Node div = null;
      for (Node c : consumersOf(sub.out())) {
        if (c.op().equals("Pow") && scalar(c.in(1)) == 2.0) {
          pow = c;
        } else if (c.op().equals("Div") && c.in(0).equals(sub.out())) {
          div = c;
        }
      }
      if (pow == null || div == null || consumersOf(sub.out()).size() != 2) {
        throw new NoMatch(what + ": not (x - mean) squared and divided");
      }
      Node var = onlyConsumer(pow.out(), "ReduceMean", what);
      Node addEps = onlyConsumer(var.out(), "Add", what);
      double eps = scalar(addEps.in(1));
      Node sqrt = onlyConsumer(addEps.out(), "Sqrt", what);
      if (!div.in(1).equals(sqrt.out()) || !(eps > 0 && eps < 1e-3)) {
        throw new NoMatch(what + ": not divided by sqrt(variance + epsilon)");
      }
      for (Node r : List.of(mean, var)) {
        long[] axes = attribute(r, "axes").map(Rewriter::ints).orElse(new long[0]);
        if (!java.util.Arrays.equals(axes, new long[] {-1})) {
          throw new NoMatch(what + ": reduces axes " + java.util.Arrays.toString(axes));
        }
      }
      Node mulGamma = onlyConsumer(div.out(), "Mul", what);
      String gamma = otherInput(mulGamma, div.out());
      Node addBeta = onlyConsumer(mulGamma.out(), "Add", what);
      String beta = otherInput(addBeta, mulGamma.out());
      if (!isVector(gamma) || !isVector(beta)) {
        throw new NoMatch(what + ": no gamma and beta vectors");
      }
      // x = (bias + p) + residual
      Node residualAdd = producerOf(x, "Add", what);
      for (int side = 0; side < 2; side++) {
        Node biasAdd = producer.get(residualAdd.in(side));
        if (biasAdd == null || biasAdd.removed || !biasAdd.op().equals("Add") || consumersOf(biasAdd.out()).size() != 1) {
          continue;
        }
        String bias = isVector(biasAdd.in(0)) ? biasAdd.in(0) : isVector(biasAdd.in(1)) ? biasAdd.in(1) : null;
        if (bias == null || consumersOf(x).size() != 2) {
          continue;
        }
        String p = otherInput(biasAdd, bias);
        String residual = residualAdd.in(1 - side);
        unproduce(addBeta.out());
        addNode(node("SkipLayerNormalization", MS, name("SkipLayerNormalization"),
            List.of(p, residual, gamma, beta, bias), addBeta.out()).addAttribute(floatAttr("epsilon", (float) eps))
            .build());
        return true;
      }
      throw new NoMatch(what + ": its input is not bias + product + residual");
    }

    private static String otherInput(Node n, String one) {
      return n.in(0).equals(one) ? n.in(1) : n.in(0);
    }

    // ------------------------------------------------------------------------------------------- writing

    /** Drops what no output needs, sorts the nodes topologically and serialises the model. */
    private byte[] write(boolean pruned, String output) throws NoMatch {
      GraphProto g = model.getGraph();
      Set<String> outputs = new HashSet<>();
      List<ValueInfoProto> graphOutputs = new ArrayList<>();
      for (ValueInfoProto o : g.getOutputList()) {
        if (pruned && o.getName().equals(output)) {
          graphOutputs.add(clsOutput(o));
          outputs.add(CLS_OUTPUT);
        } else {
          graphOutputs.add(o);
          outputs.add(o.getName());
        }
      }
      // live nodes: backwards from the outputs
      Set<Node> live = new HashSet<>();
      ArrayDeque<String> todo = new ArrayDeque<>(outputs);
      Set<String> needed = new HashSet<>(outputs);
      while (!todo.isEmpty()) {
        Node n = producer.get(todo.pop());
        if (n != null && !n.removed && live.add(n)) {
          for (String in : n.proto.getInputList()) {
            if (!in.isEmpty() && needed.add(in)) {
              todo.add(in);
            }
          }
        }
      }
      // topological order, the original order among ready nodes
      List<NodeProto> sorted = new ArrayList<>();
      Set<String> available = new HashSet<>(graphInputs);
      available.addAll(initializers.keySet());
      List<Node> pending = nodes.stream().filter(live::contains).toList();
      while (!pending.isEmpty()) {
        List<Node> next = new ArrayList<>();
        for (Node n : pending) {
          if (n.proto.getInputList().stream().allMatch(i -> i.isEmpty() || available.contains(i))) {
            sorted.add(n.proto);
            available.addAll(n.proto.getOutputList());
          } else {
            next.add(n);
          }
        }
        if (next.size() == pending.size()) {
          throw new NoMatch("the rewritten graph has a cycle or a missing input at " + next.get(0).proto.getName());
        }
        pending = next;
      }
      GraphProto.Builder gb = g.toBuilder().clearNode().addAllNode(sorted).clearInitializer().clearOutput()
          .addAllOutput(graphOutputs).clearValueInfo();
      for (TensorProto t : initializers.values()) {
        if (needed.contains(t.getName())) {
          gb.addInitializer(t);
        }
      }
      ModelProto.Builder mb = model.toBuilder().setGraph(gb)
          .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS).setVersion(1));
      return mb.build().toByteArray();
    }

    private static ValueInfoProto clsOutput(ValueInfoProto hidden) {
      TypeProto.Tensor t = hidden.getType().getTensorType();
      TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
      if (t.getShape().getDimCount() == 3) {
        shape.addDim(t.getShape().getDim(0)).addDim(t.getShape().getDim(2));
      }
      return ValueInfoProto.newBuilder().setName(CLS_OUTPUT)
          .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(t.getElemType())
              .setShape(shape))).build();
    }
  }

  // --------------------------------------------------------------------------------------------- tensors

  private static long elements(TensorProto t) {
    long n = 1;
    for (long d : t.getDimsList()) {
      n *= d;
    }
    return n;
  }

  /** The tensor's little-endian bytes ({@code width} per element), from raw_data or the typed fields. */
  private static byte[] raw(TensorProto t, int width) {
    if (t.hasRawData()) {
      return t.getRawData().toByteArray();
    }
    ByteBuffer b = ByteBuffer.allocate((int) elements(t) * width).order(ByteOrder.LITTLE_ENDIAN);
    switch (t.getDataType()) {
      case FLOAT -> t.getFloatDataList().forEach(b::putFloat);
      case INT64 -> t.getInt64DataList().forEach(b::putLong);
      case INT8 -> t.getInt32DataList().forEach(v -> b.put((byte) (int) v));
      case INT32 -> t.getInt32DataList().forEach(b::putInt);
      default -> throw new IllegalArgumentException("tensor " + t.getName() + " of data type " + t.getDataType());
    }
    return b.array();
  }

  private static float[] floats(TensorProto t) {
    ByteBuffer b = ByteBuffer.wrap(raw(t, 4)).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[b.remaining() / 4];
    b.asFloatBuffer().get(out);
    return out;
  }

  private static long[] longs(TensorProto t) {
    ByteBuffer b = ByteBuffer.wrap(raw(t, 8)).order(ByteOrder.LITTLE_ENDIAN);
    long[] out = new long[b.remaining() / 8];
    b.asLongBuffer().get(out);
    return out;
  }

  private static byte[] le(long value) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
  }
}
