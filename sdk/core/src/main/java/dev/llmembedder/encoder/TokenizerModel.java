package dev.llmembedder.encoder;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A HuggingFace {@code tokenizer.json} loaded through DJL, with truncation done here so that the limit can
 * change per call and the caller learns whether a text was cut.
 *
 * <p>Thread-safe: DJL's tokenizer holds an immutable Rust tokenizer, and this class adds no mutable state.
 */
final class TokenizerModel implements AutoCloseable {

  /** Token ids of one text after truncation, special tokens included. */
  record Tokens(long[] ids, boolean truncated) {}

  private final HuggingFaceTokenizer tokenizer;
  private final int vocabSize;
  private final String source;

  private TokenizerModel(HuggingFaceTokenizer tokenizer, int vocabSize, String source) {
    this.tokenizer = tokenizer;
    this.vocabSize = vocabSize;
    this.source = source;
  }

  /**
   * @param json the bytes of a {@code tokenizer.json}
   * @param source where they came from, for error messages
   * @throws IllegalArgumentException naming {@code source} when the bytes are no tokenizer DJL can load
   */
  static TokenizerModel load(byte[] json, String source) {
    int vocabSize = vocabSize(json, source);
    try {
      // Truncation and padding are ours: per-call limits, and padding to the batch's longest text only.
      HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
          Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
      return new TokenizerModel(tokenizer, vocabSize, source);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("cannot load tokenizer " + source + ": " + e.getMessage(), e);
    }
  }

  /** One more than the largest token id the tokenizer can produce (vocabulary plus added tokens). */
  int vocabSize() {
    return vocabSize;
  }

  String source() {
    return source;
  }

  /**
   * Tokenizes {@code texts} (special tokens added) and truncates each to at most {@code maxTokens} tokens the way
   * HuggingFace does for one sequence: the text's tail is cut, the trailing special tokens ({@code [SEP]}) kept.
   */
  Tokens[] encode(List<String> texts, int maxTokens) {
    return encode(texts, maxTokens, true);
  }

  /**
   * As {@link #encode(List, int)}, or, without special tokens, the first {@code maxTokens} tokens of each text (the
   * piece of a {@link TextTemplate}d sequence that may be cut; {@code maxTokens} may then be 0).
   */
  Tokens[] encode(List<String> texts, int maxTokens, boolean addSpecialTokens) {
    // A text far longer than the limit is tokenized from a prefix cut where whitespace starts: the tokens before the
    // cut are the whole text's, so when the prefix alone overflows the limit the result is the same, and a 10 MB text
    // costs as much as a 20 kB one (the whole text took 17 s). A prefix that does not overflow falls back to the text.
    int prefixChars = Math.max(maxTokens, 1) * PREFIX_CHARS_PER_TOKEN;
    List<String> heads = new ArrayList<>(texts.size());
    for (String text : texts) {
      heads.add(text.length() > 2 * prefixChars ? headBeforeWhitespace(text, prefixChars) : text);
    }
    Encoding[] encodings = tokenizer.batchEncode(heads, addSpecialTokens, false);
    Tokens[] out = new Tokens[encodings.length];
    for (int i = 0; i < encodings.length; i++) {
      Encoding encoding = encodings[i];
      if (heads.get(i).length() < texts.get(i).length() && encoding.getIds().length <= maxTokens) {
        encoding = tokenizer.encode(texts.get(i), addSpecialTokens, false);
      }
      out[i] = addSpecialTokens ? truncate(encoding, maxTokens) : cut(encoding.getIds(), maxTokens);
    }
    return out;
  }

  /** Characters per token allowed for before a long text's prefix is tried (English averages about 4.5). */
  private static final int PREFIX_CHARS_PER_TOKEN = 16;

  /**
   * {@code text} up to the start of the last run of spaces, tabs or line breaks that begins within its first
   * {@code chars} characters (and past half of them), or {@code text} itself when there is none: pre-tokenizers split
   * there, and normalizers work per character, so the tokens of the prefix are the first tokens of the text. (Other
   * whitespace, such as U+001C, is not a split point for every tokenizer: BERT's normalizer deletes it.)
   */
  static String headBeforeWhitespace(String text, int chars) {
    for (int i = Math.min(chars, text.length() - 1); i > chars / 2; i--) {
      if (isSplit(text.charAt(i)) && !isSplit(text.charAt(i - 1))) {
        return text.substring(0, i);
      }
    }
    return text;
  }

  private static boolean isSplit(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  /**
   * Cuts {@code text} into consecutive pieces of at most {@code tokensPerChunk} tokens (special tokens not counted),
   * cutting only where a token starts, so that the pieces concatenated give back {@code text} exactly. Whitespace
   * before a token stays with the piece before it.
   */
  List<String> chunk(String text, int tokensPerChunk) {
    Encoding encoding = tokenizer.encode(text, false, false);
    CharSpan[] spans = encoding.getCharTokenSpans();
    List<String> chunks = new ArrayList<>();
    int from = 0;
    int cpFrom = 0; // code points before index `from`, to map the tokenizer's code-point offsets to UTF-16 indices
    for (int t = tokensPerChunk; t < spans.length; t += tokensPerChunk) {
      CharSpan start = spans[t];
      if (start == null) {
        continue;
      }
      int cut = text.offsetByCodePoints(from, start.getStart() - cpFrom);
      if (cut > from) {
        chunks.add(text.substring(from, cut));
        cpFrom = start.getStart();
        from = cut;
      }
    }
    if (from < text.length() || chunks.isEmpty()) {
      chunks.add(text.substring(from));
    }
    return chunks;
  }

  /** The ids of {@code text} without special tokens and without truncation. */
  long[] idsWithoutSpecialTokens(String text) {
    return tokenizer.encode(text, false, false).getIds();
  }

  /**
   * The special tokens the tokenizer puts before and after a sequence, {@code {before, after}}: {@code [CLS]} and
   * {@code [SEP]} for BERT, a {@code <s>} before and nothing after for Llama, nothing for GPT-2. Read from the
   * special-token mask of a one-word text.
   */
  long[][] specialTokensAround() {
    Encoding encoding = tokenizer.encode("a", true, false);
    long[] ids = encoding.getIds();
    long[] special = encoding.getSpecialTokenMask();
    int first = 0;
    while (first < ids.length && special[first] == 1) {
      first++;
    }
    int last = ids.length;
    while (last > first && special[last - 1] == 1) {
      last--;
    }
    return new long[][] {Arrays.copyOfRange(ids, 0, first), Arrays.copyOfRange(ids, last, ids.length)};
  }

  private static Tokens cut(long[] ids, int maxTokens) {
    return ids.length <= maxTokens ? new Tokens(ids, false) : new Tokens(Arrays.copyOf(ids, maxTokens), true);
  }

  /** The number of tokens of {@code text}, special tokens included, without truncation. */
  int countTokens(String text) {
    return tokenizer.encode(text, true, false).getIds().length;
  }

  private static Tokens truncate(Encoding encoding, int maxTokens) {
    long[] ids = encoding.getIds();
    if (ids.length <= maxTokens) {
      return new Tokens(ids, false);
    }
    long[] special = encoding.getSpecialTokenMask();
    int trailing = 0;
    while (trailing < ids.length && special[ids.length - 1 - trailing] == 1) {
      trailing++;
    }
    trailing = Math.min(trailing, maxTokens);
    long[] cut = Arrays.copyOf(ids, maxTokens);
    System.arraycopy(ids, ids.length - trailing, cut, maxTokens - trailing, trailing);
    return new Tokens(cut, true);
  }

  private static int vocabSize(byte[] json, String source) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("tokenizer " + source + " is not valid JSON: " + e.getMessage(), e);
    }
    JsonNode vocab = root.path("model").path("vocab");
    if (vocab.isMissingNode() || vocab.isNull()) {
      throw new IllegalArgumentException("tokenizer " + source
          + " has no model.vocab; expected a HuggingFace tokenizer.json (WordPiece, BPE or Unigram)");
    }
    long max = -1;
    if (vocab.isObject()) { // WordPiece / BPE: token -> id
      for (JsonNode id : (Iterable<JsonNode>) vocab::elements) {
        max = Math.max(max, id.asLong());
      }
    } else { // Unigram: [[token, score], ...], ids are positions
      max = vocab.size() - 1;
    }
    for (JsonNode added : root.path("added_tokens")) {
      max = Math.max(max, added.path("id").asLong(-1));
    }
    return Math.toIntExact(max + 1);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
