package dev.llmembedder.encoder;

/**
 * Where the padding of a batch goes: after each shorter text ({@link #RIGHT}, BERT's way) or before it
 * ({@link #LEFT}, decoder-only models' usual way; LLaRA's training sets {@code tokenizer.padding_side = 'left'}).
 * HuggingFace's {@code padding_side}.
 *
 * <p>Either way the attention mask covers only the text's tokens, and a graph that takes {@code position_ids} is fed
 * {@code 0..length-1} for them, so a text's embedding depends neither on the side nor on its batchmates (up to float
 * rounding).
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum PaddingSide {
  /** Padding before the text: every text's last token sits in the batch's last column. */
  LEFT,
  /** Padding after the text: every text starts in the first column (the default). */
  RIGHT
}
