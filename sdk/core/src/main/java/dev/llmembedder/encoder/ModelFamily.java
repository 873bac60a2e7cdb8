package dev.llmembedder.encoder;

/**
 * What a model directory needs besides its files: how it pools, which instructions or prompt template it was trained
 * with, and which side its batches are padded on. Pass one to
 * {@link Encoder.Builder#modelDirectory(java.nio.file.Path, ModelFamily)} for a model exported to ONNX from the
 * HuggingFace Hub; the README's model-family table gives each family's weights and export command.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum ModelFamily {
  /** BAAI/llm-embedder: CLS pooling, the six LLM-Embedder task instructions (arXiv:2310.07554, Table 10). */
  LLM_EMBEDDER(Pooling.CLS, InstructionSet.LLM_EMBEDDER, TextTemplate.NONE, PaddingSide.RIGHT),
  /** BAAI/bge-*-v1.5: CLS pooling, the BGE query instruction, no passage instruction (BGE model cards). */
  BGE_V15(Pooling.CLS, InstructionSet.BGE_V15, TextTemplate.NONE, PaddingSide.RIGHT),
  /** intfloat/e5-*: mean pooling, {@code "query: "} / {@code "passage: "} prefixes (E5 model cards). */
  E5(Pooling.MEAN, InstructionSet.E5, TextTemplate.NONE, PaddingSide.RIGHT),
  /**
   * TownsWu/PEG (Chinese, BERT-based; "PEG: Towards Robust Text Retrieval with Progressive Learning",
   * arXiv:2311.11691): CLS pooling and no instruction on queries or passages. Its model card embeds sentences as
   * they are ({@code tokenizer(sentences, ...)}, then {@code last_hidden_state[:, 0]}) and names no instruction.
   */
  PEG(Pooling.CLS, InstructionSet.NONE, TextTemplate.NONE, PaddingSide.RIGHT),
  /**
   * BAAI/LLARA-* (LLaMA-2-7B based, decoder-only; "Making Large Language Models A Better Foundation For Dense
   * Retrieval", arXiv:2312.15503; FlagEmbedding {@code research/LLARA}): the {@link TextTemplate#LLARA} prompts, the
   * mean of the last hidden state over the prompt's last 8 positions ({@link Pooling#meanOfLast(int) meanOfLast(8)}),
   * left padding (its training sets {@code padding_side = 'left'}), no task instruction.
   */
  LLARA(Pooling.meanOfLast(8), InstructionSet.NONE, TextTemplate.LLARA, PaddingSide.LEFT);

  private final Pooling pooling;
  private final InstructionSet instructions;
  private final TextTemplate template;
  private final PaddingSide paddingSide;

  ModelFamily(Pooling pooling, InstructionSet instructions, TextTemplate template, PaddingSide paddingSide) {
    this.pooling = pooling;
    this.instructions = instructions;
    this.template = template;
    this.paddingSide = paddingSide;
  }

  /** The pooling the family was trained with. */
  public Pooling pooling() {
    return pooling;
  }

  /** The instructions the family was trained with. */
  public InstructionSet instructions() {
    return instructions;
  }

  /** The text around each query and key ({@link TextTemplate#NONE} for BERT-like families). */
  public TextTemplate template() {
    return template;
  }

  /** The side the family's batches are padded on. */
  public PaddingSide paddingSide() {
    return paddingSide;
  }
}
