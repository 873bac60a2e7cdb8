package dev.llmembedder.encoder;

import java.util.Objects;

/**
 * The text around each text an encoder embeds, one pattern for queries and one for keys, each holding
 * {@value #TEXT} once: {@code "\"{text}\", summarize the above passage within eight words: <s1>...<s8>"}. Decoder-only
 * embedders such as LLaRA are trained with such prompts and pool their last positions ({@link Pooling#meanOfLast}).
 * Not to be confused with {@link dev.llmembedder.context.PromptTemplate}, which renders the retrieved context for the
 * LLM.
 *
 * <p><b>Tokenization.</b> The part before {@value #TEXT} (the prefix), the text (after the task's
 * {@link Instruction}, if any) and the part after it (the suffix) are tokenized each on its own, without special
 * tokens, and their ids concatenated between the special tokens the tokenizer puts around a sequence (a Llama
 * {@code <s>}, BERT's {@code [CLS]} and {@code [SEP]}, none for GPT-2). This is how LLaRA builds its inputs
 * (FlagEmbedding {@code research/LLARA}: {@code prefix_ids + tokenizer(text, add_special_tokens=False) + suffix_ids}),
 * and it means the text's tokens do not depend on the template and the suffix's tokens are the same for every text.
 * When a text is too long, only the text is cut: the prefix and suffix always stay whole.
 *
 * <p><b>Thread-safety.</b> Immutable and thread-safe.
 *
 * @param query the pattern for queries ({@link Encoder#encodeQueries}, {@link Encoder#encode})
 * @param key the pattern for keys ({@link Encoder#encodeKeys}): passages, chunks, demonstrations, tool descriptions
 */
public record TextTemplate(String query, String key) {
  /** The placeholder for the text in a pattern. */
  public static final String TEXT = "{text}";

  /** The text alone, for queries and keys: what BERT-like encoders take. */
  public static final TextTemplate NONE = new TextTemplate(TEXT, TEXT);

  /**
   * LLaRA's prompts, verbatim from FlagEmbedding {@code research/LLARA} ({@code finetune/data.py} and the README's
   * usage): queries {@code "<query>", predict the following passage within eight words: <s9>...<s16>} (EBAR), keys
   * {@code "<passage>", summarize the above passage within eight words: <s1>...<s8>} (EBAE); arXiv:2312.15503.
   */
  public static final TextTemplate LLARA = new TextTemplate(
      "\"{text}\", predict the following passage within eight words: <s9><s10><s11><s12><s13><s14><s15><s16>",
      "\"{text}\", summarize the above passage within eight words: <s1><s2><s3><s4><s5><s6><s7><s8>");

  /** @throws IllegalArgumentException naming the pattern when it does not hold {@value #TEXT} exactly once */
  public TextTemplate {
    check("query", query);
    check("key", key);
  }

  private static void check(String role, String pattern) {
    Objects.requireNonNull(pattern, role + " pattern is null; use \"" + TEXT + "\" for the text alone");
    int at = pattern.indexOf(TEXT);
    if (at < 0 || pattern.indexOf(TEXT, at + 1) >= 0) {
      throw new IllegalArgumentException(role + " pattern '" + pattern + "' must hold " + TEXT + " exactly once, where"
          + " the text goes");
    }
  }

  /** Whether both patterns are the text alone. */
  public boolean isNone() {
    return query.equals(TEXT) && key.equals(TEXT);
  }

  /** The part of the query or key pattern before {@value #TEXT}. */
  String prefix(boolean forQuery) {
    String p = forQuery ? query : key;
    return p.substring(0, p.indexOf(TEXT));
  }

  /** The part of the query or key pattern after {@value #TEXT}. */
  String suffix(boolean forQuery) {
    String p = forQuery ? query : key;
    return p.substring(p.indexOf(TEXT) + TEXT.length());
  }
}
