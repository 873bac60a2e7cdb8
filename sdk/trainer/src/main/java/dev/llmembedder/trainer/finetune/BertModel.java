package dev.llmembedder.trainer.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.llmembedder.encoder.Pooling;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A BERT encoder's forward pass built from DJL array operations, so that DJL's autograd (PyTorch underneath) gives the
 * gradient of anything computed from its output with respect to every weight. It follows HuggingFace's
 * {@code BertModel} (transformers {@code models/bert/modeling_bert.py}) in evaluation mode, without dropout:
 *
 * <pre>
 *   h = LayerNorm(word[ids] + position[0..T) + token_type[0])
 *   per layer:  Q, K, V = h W_q^T + b_q, ...  split into heads of d / heads
 *               A = softmax(Q K^T / sqrt(d / heads) + mask_bias) V          (mask_bias = min float at padding)
 *               h' = LayerNorm(A W_o^T + b_o + h)
 *               h  = LayerNorm(GELU(h' W_i^T + b_i) W_2^T + b_2 + h')        (GELU in its erf form, as BERT)
 *   e = normalize(h[:, 0])  (CLS pooling)   or   normalize(mean of h over the unpadded tokens)  (MEAN)
 * </pre>
 *
 * <p>Not thread-safe: one forward or backward pass at a time. Holds native memory: {@link #close()} it.
 */
final class BertModel implements AutoCloseable {
  private final NDManager manager;
  private final BertConfig config;
  private final Pooling pooling;
  /** In {@link BertWeights#parameterNames} order. */
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();

  /**
   * @param device where the weights live and the passes run
   * @param trainable whether the weights collect gradients
   */
  BertModel(BertWeights weights, Pooling pooling, Device device, boolean trainable) {
    this.manager = NDManager.newBaseManager(device, "PyTorch");
    this.config = weights.config();
    this.pooling = pooling;
    try {
      weights.tensors().forEach((name, t) -> {
        NDArray array = manager.create(t.values(), new Shape(t.shape()));
        array.setName(name);
        if (trainable) {
          array.setRequiresGradient(true);
        }
        parameters.put(name, array);
      });
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  BertConfig config() {
    return config;
  }

  Pooling pooling() {
    return pooling;
  }

  Device device() {
    return manager.getDevice();
  }

  /** The weights, by PyTorch name (live arrays: do not close them). */
  Map<String, NDArray> parameters() {
    return parameters;
  }

  /** A manager for one pass's arrays, closed by the caller. */
  NDManager newScope() {
    return manager.newSubManager();
  }

  /** The current weights as Java arrays, by PyTorch name. */
  Map<String, float[]> values() {
    Map<String, float[]> out = new LinkedHashMap<>();
    parameters.forEach((name, array) -> out.put(name, array.toFloatArray()));
    return out;
  }

  /** Overwrites the weights with {@code values} (same names and sizes), for restoring the best epoch's. */
  void load(Map<String, float[]> values) {
    parameters.forEach((name, array) -> array.set(values.get(name)));
  }

  /**
   * The embeddings of a batch of token sequences (special tokens included, unpadded; padded here to the longest).
   *
   * @param scope the manager the input and intermediate arrays are created in; the caller closes it
   * @param ids {@code [B][T_b]} token ids, each row at most {@link BertConfig#maxPositions()} long
   * @return {@code [B, d]}, each row L2-normalised, in {@code scope}
   */
  NDArray forward(NDManager scope, long[][] ids) {
    int batch = ids.length;
    int seq = 0;
    for (long[] row : ids) {
      seq = Math.max(seq, row.length);
    }
    if (seq > config.maxPositions()) {
      throw new IllegalArgumentException("a sequence has " + seq + " tokens; the model takes at most "
          + config.maxPositions());
    }
    long[] flat = new long[batch * seq];
    float[] maskValues = new float[batch * seq];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(ids[b], 0, flat, b * seq, ids[b].length);
      for (int t = 0; t < ids[b].length; t++) {
        maskValues[b * seq + t] = 1;
      }
    }
    int d = config.hiddenSize();
    int heads = config.attentionHeads();
    int headSize = config.headSize();
    float eps = (float) config.layerNormEps();
    Shape normalized = new Shape(d);
    NDArray input = scope.create(flat, new Shape(batch, seq));
    NDArray mask = scope.create(maskValues, new Shape(batch, seq));
    // HuggingFace's extended attention mask: 0 where attended, the smallest float at padding, added to the scores
    NDArray maskBias = mask.neg().add(1).mul(-Float.MAX_VALUE).reshape(batch, 1, 1, seq);

    NDArray positions = p("embeddings.position_embeddings.weight").get(new NDIndex("0:{}", seq));
    positions.attach(scope);
    NDArray tokenType = p("embeddings.token_type_embeddings.weight").get(0);
    tokenType.attach(scope);
    NDArray h = Embedding.embedding(input, p("embeddings.word_embeddings.weight"), SparseFormat.DENSE).head()
        .add(positions).add(tokenType);
    h = LayerNorm.layerNorm(h, normalized, p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"), eps)
        .head();
    double scale = 1 / Math.sqrt(headSize);
    for (int l = 0; l < config.layers(); l++) {
      String layer = "encoder.layer." + l + ".";
      NDArray q = heads(linear(h, layer + "attention.self.query"), batch, seq, heads, headSize);
      NDArray k = heads(linear(h, layer + "attention.self.key"), batch, seq, heads, headSize);
      NDArray v = heads(linear(h, layer + "attention.self.value"), batch, seq, heads, headSize);
      NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale).add(maskBias);
      NDArray context = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(batch, seq, d);
      NDArray attended = LayerNorm.layerNorm(linear(context, layer + "attention.output.dense").add(h), normalized,
          p(layer + "attention.output.LayerNorm.weight"), p(layer + "attention.output.LayerNorm.bias"), eps).head();
      NDArray inner = Activation.gelu(linear(attended, layer + "intermediate.dense"));
      h = LayerNorm.layerNorm(linear(inner, layer + "output.dense").add(attended), normalized,
          p(layer + "output.LayerNorm.weight"), p(layer + "output.LayerNorm.bias"), eps).head();
    }
    NDArray pooled;
    if (pooling == Pooling.CLS) {
      pooled = h.get(new NDIndex(":, 0, :"));
    } else {
      NDArray m = mask.expandDims(2);
      pooled = h.mul(m).sum(new int[] {1}).div(m.sum(new int[] {1}));
    }
    NDArray norm = pooled.square().sum(new int[] {1}, true).sqrt();
    return pooled.div(norm);
  }

  private NDArray linear(NDArray x, String prefix) {
    return Linear.linear(x, p(prefix + ".weight"), p(prefix + ".bias")).head();
  }

  /** {@code [B, T, d]} to {@code [B, heads, T, d / heads]}. */
  private static NDArray heads(NDArray x, int batch, int seq, int heads, int headSize) {
    return x.reshape(batch, seq, heads, headSize).transpose(0, 2, 1, 3);
  }

  private NDArray p(String name) {
    NDArray array = parameters.get(name);
    if (array == null) {
      throw new IllegalStateException("no parameter " + name);
    }
    return array;
  }

  @Override
  public void close() {
    manager.close();
  }
}
