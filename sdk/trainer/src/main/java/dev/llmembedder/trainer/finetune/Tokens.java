package dev.llmembedder.trainer.finetune;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The model's HuggingFace tokenizer (DJL), tokenizing as the SDK's {@code Encoder} does so that the DJL forward pass
 * sees the same token ids: special tokens added, no padding, and a text longer than the limit cut at its tail with its
 * trailing special tokens ({@code [SEP]}) kept, as HuggingFace truncates one sequence.
 *
 * <p>Thread-safe (DJL's tokenizer is). Holds native memory: {@link #close()} it.
 */
final class Tokens implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;

  private Tokens(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
  }

  /** @throws IllegalArgumentException naming {@code source} when the bytes are no tokenizer DJL can load */
  static Tokens load(byte[] json, String source) {
    try {
      return new Tokens(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
          Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true")));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("cannot load tokenizer " + source + ": " + e.getMessage(), e);
    }
  }

  /** The token ids of {@code instruction + text} for each text, at most {@code maxTokens} each. */
  long[][] encode(List<String> texts, String instruction, int maxTokens) {
    String[] prefixed = new String[texts.size()];
    for (int i = 0; i < prefixed.length; i++) {
      prefixed[i] = instruction + texts.get(i);
    }
    Encoding[] encodings = tokenizer.batchEncode(Arrays.asList(prefixed), true, false);
    long[][] out = new long[encodings.length][];
    for (int i = 0; i < encodings.length; i++) {
      out[i] = truncate(encodings[i], maxTokens);
    }
    return out;
  }

  private static long[] truncate(Encoding encoding, int maxTokens) {
    long[] ids = encoding.getIds();
    if (ids.length <= maxTokens) {
      return ids;
    }
    long[] special = encoding.getSpecialTokenMask();
    int trailing = 0;
    while (trailing < ids.length && special[ids.length - 1 - trailing] == 1) {
      trailing++;
    }
    trailing = Math.min(trailing, maxTokens);
    long[] cut = Arrays.copyOf(ids, maxTokens);
    System.arraycopy(ids, ids.length - trailing, cut, maxTokens - trailing, trailing);
    return cut;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
