package dev.llmembedder.encoder;

import java.util.Objects;

/**
 * How a sequence of token states {@code [seq][dim]} becomes one embedding {@code float[dim]}. Only the text's own
 * (non-padding) positions count, whichever side the batch is padded on ({@link PaddingSide}).
 *
 * <p>The choice belongs to the model, not to the caller: a model trained with CLS pooling gives poor embeddings when
 * mean-pooled and vice versa. BGE v1.5, LLM-Embedder and PEG use {@link #CLS} (their model cards, and FlagEmbedding's
 * {@code pooling_method='cls'}); E5 and most sentence-transformers models use {@link #MEAN}. Decoder-only embedders
 * pool at the end of the sequence, where a causal model has seen the whole text: {@link #LAST_TOKEN} (e5-mistral's
 * {@code last_token_pool}, sentence-transformers' {@code pooling_mode_lasttoken}) or the mean over the last few
 * positions, which LLaRA takes over the eight {@code <s1>..<s8>} (keys) or {@code <s9>..<s16>} (queries) tokens that
 * end its prompts ({@link #meanOfLast(int) meanOfLast(8)}; FlagEmbedding {@code research/LLARA},
 * {@code hidden_states[-1][:, -8:, :].mean(dim=1)}).
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe.
 *
 * @param mode what is pooled
 * @param positions for {@link Mode#MEAN_OF_LAST}, how many positions at the end of the sequence (at least 1); 0 for
 *     every other mode
 */
public record Pooling(Mode mode, int positions) {

  /** What is pooled. */
  public enum Mode {
    /** The state of the first token ({@code [CLS]}). */
    CLS,
    /** The average of the states of all non-padding tokens, special tokens included. */
    MEAN,
    /** The state of the last non-padding token. */
    LAST_TOKEN,
    /** The average of the states of the last {@link Pooling#positions()} non-padding tokens. */
    MEAN_OF_LAST
  }

  /** The hidden state of the first token ({@code [CLS]}). */
  public static final Pooling CLS = new Pooling(Mode.CLS, 0);
  /** The average of the hidden states of all non-padding tokens (the attention mask), special tokens included. */
  public static final Pooling MEAN = new Pooling(Mode.MEAN, 0);
  /** The hidden state of the last non-padding token: for decoder-only (causal) embedders. */
  public static final Pooling LAST_TOKEN = new Pooling(Mode.LAST_TOKEN, 0);

  /**
   * @throws IllegalArgumentException if {@code positions} is not at least 1 for {@link Mode#MEAN_OF_LAST}, or not 0
   *     for another mode
   */
  public Pooling {
    Objects.requireNonNull(mode, "mode");
    if (mode == Mode.MEAN_OF_LAST ? positions < 1 : positions != 0) {
      throw new IllegalArgumentException("pooling " + mode + " with positions " + positions + "; allowed: "
          + (mode == Mode.MEAN_OF_LAST ? "at least 1" : "0 (only MEAN_OF_LAST takes a number of positions)"));
    }
  }

  /**
   * The average of the hidden states of the last {@code n} non-padding tokens. These should be tokens of the
   * model's {@link TextTemplate} suffix, the same for every text: the encoder refuses a template whose suffixes have
   * fewer than {@code n} tokens.
   *
   * @param n at least 1 (LLaRA: 8)
   * @throws IllegalArgumentException if {@code n < 1}
   */
  public static Pooling meanOfLast(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("meanOfLast(" + n + "): the number of positions must be at least 1");
    }
    return new Pooling(Mode.MEAN_OF_LAST, n);
  }

  /** {@code CLS}, {@code MEAN}, {@code LAST_TOKEN} or {@code MEAN_OF_LAST_8}: for logs and store manifests. */
  public String name() {
    return mode == Mode.MEAN_OF_LAST ? mode.name() + "_" + positions : mode.name();
  }

  /** As {@link #name()}. */
  @Override
  public String toString() {
    return name();
  }
}
