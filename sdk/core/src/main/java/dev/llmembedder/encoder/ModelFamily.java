package dev.llmembedder.encoder;

/**
 * What a model directory needs besides its files: how it pools and which instructions it was trained with.
 * Pass one to {@link Encoder.Builder#modelDirectory(java.nio.file.Path, ModelFamily)} for a model exported to
 * ONNX from the HuggingFace Hub.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum ModelFamily {
  /** BAAI/llm-embedder: CLS pooling, the six LLM-Embedder task instructions (arXiv:2310.07554, Table 10). */
  LLM_EMBEDDER(Pooling.CLS, InstructionSet.LLM_EMBEDDER),
  /** BAAI/bge-*-v1.5: CLS pooling, the BGE query instruction, no passage instruction (BGE model cards). */
  BGE_V15(Pooling.CLS, InstructionSet.BGE_V15),
  /** intfloat/e5-*: mean pooling, {@code "query: "} / {@code "passage: "} prefixes (E5 model cards). */
  E5(Pooling.MEAN, InstructionSet.E5);

  private final Pooling pooling;
  private final InstructionSet instructions;

  ModelFamily(Pooling pooling, InstructionSet instructions) {
    this.pooling = pooling;
    this.instructions = instructions;
  }

  /** The pooling the family was trained with. */
  public Pooling pooling() {
    return pooling;
  }

  /** The instructions the family was trained with. */
  public InstructionSet instructions() {
    return instructions;
  }
}
