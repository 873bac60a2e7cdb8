package dev.llmembedder.encoder;

/**
 * How a sequence of token states {@code [seq][dim]} becomes one embedding {@code float[dim]}.
 *
 * <p>The choice belongs to the model, not to the caller: a model trained with CLS pooling gives poor
 * embeddings when mean-pooled and vice versa. BGE v1.5 and LLM-Embedder use {@link #CLS} (their model
 * cards, and FlagEmbedding's {@code pooling_method='cls'}); E5 and most sentence-transformers models use
 * {@link #MEAN}.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum Pooling {
  /** The hidden state of the first token ({@code [CLS]}). */
  CLS,
  /** The average of the hidden states of all non-padding tokens (the attention mask), special tokens included. */
  MEAN
}
