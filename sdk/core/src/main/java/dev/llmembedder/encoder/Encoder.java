package dev.llmembedder.encoder;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns texts into L2-normalised embeddings ({@code float[dim]}) with a model exported to ONNX, BERT-like or
 * decoder-only: a HuggingFace tokenizer (DJL), an ONNX Runtime session, then {@link Pooling} and normalisation. Scores
 * between embeddings are plain dot products (= cosine similarity).
 *
 * <p><b>Instructions and templates.</b> {@link #encodeQueries} and {@link #encodeKeys} prepend the model's
 * instruction for the given {@link Task} (see {@link InstructionSet}); {@link #encode} takes an explicit prefix. A
 * model trained with a prompt around the text (LLaRA) has a {@link TextTemplate}: queries and keys are wrapped in its
 * query and key pattern, the instruction going just before the text.
 *
 * <p><b>Graph inputs.</b> The encoder feeds what the ONNX graph declares, as int32 or int64: {@code input_ids} and
 * {@code attention_mask} (required), {@code token_type_ids} (all 0) and, for a decoder-only graph,
 * {@code position_ids} ({@code 0..length-1} over each text's own tokens, whichever side it is padded on), every input
 * whose name starts with {@code past} (the key-value cache: an empty tensor, past length 0, float32, float16 or
 * bfloat16) and Optimum's {@code use_cache_branch} ({@code false}). It pools {@code last_hidden_state}, or the output
 * chosen with {@link Builder#outputName(String)}, or else the first output of shape {@code [batch, seq, dim]}.
 *
 * <p><b>Batching.</b> Any number of texts may be passed. They are tokenized, sorted by token length and cut into
 * batches of at most {@link Builder#batchSize(int)} texts and {@link Builder#batchTokens(int)} padded tokens, each
 * padded only to its longest text; the cuts fall where they waste the fewest padded tokens for the number of model
 * runs (texts of equal length go together), the longest batches run first, and the embeddings come back in input
 * order. 350-token passages thus run about 6 at a time, short queries up to 32 (larger batches of long texts run
 * slower on CPU).
 *
 * <p><b>Query adapter.</b> With {@link Builder#queryAdapter(Path)}, {@link #encodeQuery} and {@link #encodeQueries}
 * map each query embedding through a {@link QueryAdapter} ({@code normalize(W q + b)}); {@link #encodeKeys} and
 * {@link #encode} never do, so keys and saved indexes stay valid with or without it.
 *
 * <p><b>Truncation.</b> Each text is cut to a maximum number of <em>tokens</em> (special tokens included): by
 * default 512 for keys (capped at the model's limit) and the model's limit for queries.
 *
 * <p><b>Thread-safety.</b> Thread-safe: one encoder is meant to be shared by all threads. Tokenization runs
 * concurrently; at most {@link Builder#parallelRuns(int)} model runs execute at once, whoever asks for them.
 *
 * <p>Holds native memory (the ONNX session and the tokenizer): {@link #close()} it.
 */
public final class Encoder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Encoder.class);
  /** The default limit for keys, in tokens (LLM-Embedder's and BGE's passage length). */
  public static final int DEFAULT_KEY_MAX_TOKENS = 512;
  private static final String INPUT_IDS = "input_ids";
  private static final String ATTENTION_MASK = "attention_mask";
  private static final String TOKEN_TYPE_IDS = "token_type_ids";
  private static final String POSITION_IDS = "position_ids";
  private static final String USE_CACHE_BRANCH = "use_cache_branch";

  private final String modelName;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final TokenizerModel tokenizer;
  private final Pooling pooling;
  private final InstructionSet instructions;
  private final TextTemplate template;
  private final PaddingSide paddingSide;
  /** Token ids around a templated query and key; null for {@link TextTemplate#NONE} (the text as it is). */
  private final Framing queryFraming;
  private final Framing keyFraming;
  private final int maxTokens;
  private final int batchSize;
  private final int batchTokens;
  private final Device device;
  private final int cudaDeviceId;
  /** The element type of each id input the graph declares (input_ids, attention_mask, token_type_ids, position_ids). */
  private final Map<String, OnnxJavaType> idInputs;
  /** The key-value cache inputs (past_*), fed empty. */
  private final List<PastInput> pastInputs;
  private final boolean feedsCacheBranch;
  private final String outputName;
  /** The exported graph's output that the embedding pools ({@link #outputName} may be the rewritten graph's). */
  private final String pooledOutput;
  /** What the load-time graph rewrite did, or null when the graph runs as exported. */
  private final GraphRewrite.Result rewrite;
  private final int dimension;
  private final int parallelRuns;
  /** One permit per concurrent model run; {@link #close()} takes them all. */
  private final Semaphore runPermits;
  /** Input buffers of finished runs, reused by the next ones (at most {@code parallelRuns} are ever in use). */
  private final ConcurrentLinkedQueue<RunBuffers> spareBuffers = new ConcurrentLinkedQueue<>();
  /** Runs the batches of one bulk call concurrently, at most {@code parallelRuns} at a time. */
  private final ExecutorService runners;
  /** Applied to query embeddings by encodeQuery / encodeQueries; null for none. */
  private final QueryAdapter queryAdapter;
  /** Adapted query embeddings (with an adapter), else plain ones: the adapter is fixed for the encoder's life. */
  private final Cache<QueryKey, float[]> queryCache;
  private volatile boolean closed;

  private record QueryKey(String text, String instruction, int maxTokens) {}

  /**
   * The ids a templated text goes between: the tokenizer's leading special tokens and the template's prefix, then
   * the template's suffix and the tokenizer's trailing special tokens.
   */
  private record Framing(long[] before, long[] after) {
    int length() {
      return before.length + after.length;
    }
  }

  /** An empty past input: {@code shape} with -1 where the batch size goes. */
  private record PastInput(String name, long[] shape, OnnxJavaType type) {}

  private Encoder(Builder b, ModelFiles files, QueryAdapter adapter, String adapterSource) {
    this.modelName = files.name;
    this.pooling = files.pooling;
    this.instructions = files.instructions;
    this.template = files.template;
    this.paddingSide = files.paddingSide;
    this.batchSize = b.batchSize;
    this.batchTokens = b.batchTokens;
    this.parallelRuns = b.parallelRuns;
    this.runPermits = new Semaphore(parallelRuns);
    this.env = OrtEnvironment.getEnvironment();
    this.tokenizer = TokenizerModel.load(files.tokenizerJson, files.tokenizerSource);
    this.cudaDeviceId = b.cudaDeviceId;
    OrtSession s = null;
    try {
      Device resolved = resolveDevice(b.device, b.cudaDeviceId);
      if (resolved == Device.CUDA) {
        try {
          s = openSession(files, b, Device.CUDA);
        } catch (IllegalStateException e) {
          if (b.device != Device.AUTO) {
            throw e;
          }
          LOG.warn("Device AUTO: CUDA device {} is unavailable ({}); falling back to the CPU", b.cudaDeviceId,
              e.getMessage());
          resolved = Device.CPU;
        }
      }
      this.device = resolved;
      GraphRewrite.Result rewritten = null;
      if (s == null && device == Device.CPU && b.graphRewrite) {
        rewritten = rewrite(files, b).orElse(null);
        if (rewritten != null) {
          try {
            s = createSession(rewritten.model(), b, device);
          } catch (OrtException e) {
            LOG.warn("ONNX Runtime refused the rewritten graph of {} ({}); running the graph as exported",
                files.modelSource, e.getMessage());
            rewritten = null;
          }
        }
      }
      this.rewrite = rewritten != null ? rewritten.summary() : null;
      if (s == null) {
        s = openSession(files, b, device);
      }
      Map<String, OnnxJavaType> ids = new HashMap<>();
      List<PastInput> past = new ArrayList<>();
      this.feedsCacheBranch = readInputs(s, files.modelSource, ids, past);
      this.idInputs = Map.copyOf(ids);
      this.pastInputs = List.copyOf(past);
      if (pooling.mode() == Pooling.Mode.CLS && (ids.containsKey(POSITION_IDS) || !past.isEmpty())) {
        throw new IllegalArgumentException("model " + files.modelSource + " has the inputs of a decoder-only (causal)"
            + " model " + decoderInputs(s) + ": CLS pooling would embed its first token, which sees no other"
            + " token; use Pooling.LAST_TOKEN or Pooling.meanOfLast(n) (ModelFamily.LLARA)");
      }
      this.outputName = pickOutput(s, files.modelSource, rewrite != null ? rewrite.outputName() : b.outputName);
      this.pooledOutput = rewrite != null ? exportedOutput(b) : outputName;
      this.session = s;
      this.maxTokens = b.maxTokens > 0 ? b.maxTokens : files.maxTokens;
      this.queryFraming = framing(true);
      this.keyFraming = framing(false);
      checkPooledPositions();
      this.dimension = probe(files);
      this.queryAdapter = checkAdapter(adapter, adapterSource);
    } catch (RuntimeException e) {
      closeQuietly(s);
      tokenizer.close();
      throw e;
    }
    this.runners = Executors.newFixedThreadPool(parallelRuns, r -> {
      Thread t = new Thread(r, "llm-embedder-encoder");
      t.setDaemon(true);
      return t;
    });
    this.queryCache = b.queryCacheSize > 0
        ? Caffeine.newBuilder().maximumSize(b.queryCacheSize).build()
        : null;
    LOG.info("Loaded {} on {} (dim {}, {} pooling of {}, max {} tokens, instructions {}{}{}{}{})",
        modelName, device == Device.CUDA ? "CUDA device " + cudaDeviceId : device, dimension, pooling, outputName,
        maxTokens, instructions.name(), rewrite == null ? "" : ", graph rewritten: " + rewrite,
        template.isNone() ? "" : ", template " + template,
        paddingSide == PaddingSide.LEFT ? ", left padding" : "",
        queryAdapter == null ? "" : ", query adapter " + adapterSource);
  }

  /** The adapter if it fits this model, else an error naming where it came from and both models. */
  private QueryAdapter checkAdapter(QueryAdapter adapter, String source) {
    if (adapter == null) {
      return null;
    }
    if (adapter.dimension() != dimension || !adapter.modelName().equals(modelName)) {
      throw new IllegalArgumentException("query adapter " + source + " was trained for model '"
          + adapter.modelName() + "' (dimension " + adapter.dimension() + "), but this encoder is '" + modelName
          + "' (dimension " + dimension + "); train an adapter for this model or drop queryAdapter(...)");
    }
    return adapter;
  }

  /** A builder for an encoder; start with a {@link ModelPreset} or a model directory. */
  public static Builder builder() {
    return new Builder();
  }

  /** Shorthand for {@code builder().preset(preset).build()}. */
  public static Encoder load(ModelPreset preset) {
    return builder().preset(preset).build();
  }

  /**
   * Encodes one query with the model's query instruction for {@code task}, truncated to {@link #maxTokens()}, then
   * through the {@linkplain #queryAdapter() query adapter} if there is one. Results are cached (see
   * {@link Builder#queryCacheSize(long)}); the cache holds the final (adapted) embeddings, and the caller gets its
   * own copy.
   *
   * @return {@code float[dimension()]}, L2-normalised
   * @throws IllegalArgumentException if {@code query} is null or only whitespace
   */
  public float[] encodeQuery(String query, Task task) {
    String instruction = instructions.forTask(task).query();
    if (queryCache == null) {
      return adapt(encode(List.of(checkText(query, 0)), instruction, maxTokens))[0];
    }
    QueryKey key = new QueryKey(checkText(query, 0), instruction, maxTokens);
    float[] cached = queryCache.get(key, k -> adapt(encode(List.of(k.text), k.instruction, k.maxTokens))[0]);
    return cached.clone();
  }

  /**
   * Encodes queries with the model's query instruction for {@code task}, truncated to {@link #maxTokens()}, then
   * through the {@linkplain #queryAdapter() query adapter} if there is one. Not cached.
   *
   * @return {@code [queries.size()][dimension()]}, in input order, each L2-normalised
   * @throws IllegalArgumentException if a query is null or only whitespace (the message gives its index)
   */
  public float[][] encodeQueries(List<String> queries, Task task) {
    return adapt(encode(queries, instructions.forTask(task).query(), maxTokens));
  }

  private float[][] adapt(float[][] queries) {
    return queryAdapter == null ? queries : queryAdapter.applyAll(queries);
  }

  /**
   * Encodes keys (passages, chunks, demonstrations, tool descriptions) with the model's key instruction for
   * {@code task}, in the template's key pattern if the model has a {@link TextTemplate}, truncated to
   * {@value #DEFAULT_KEY_MAX_TOKENS} tokens or the model's limit, whichever is smaller.
   *
   * @return {@code [keys.size()][dimension()]}, in input order, each L2-normalised
   * @throws IllegalArgumentException if a key is null or only whitespace (the message gives its index)
   */
  public float[][] encodeKeys(List<String> keys, Task task) {
    return encode(keys, instructions.forTask(task).key(), Math.min(DEFAULT_KEY_MAX_TOKENS, maxTokens), keyFraming);
  }

  /**
   * Encodes texts, each prefixed with {@code instruction} and truncated to {@code maxTokens} tokens (special
   * tokens and the instruction included). A model with a {@link TextTemplate} wraps each text in the template's
   * <em>query</em> pattern (the prefix and suffix are never cut; only the text is). Never applies the query adapter:
   * this is the model's own embedding (what an adapter is trained on).
   *
   * @param texts any number of texts; an empty string is valid, null and whitespace-only texts are not
   * @param instruction prepended to every text; {@code ""} for none
   * @param maxTokens 2 to {@link #maxTokens()}, and at least the template's own tokens
   * @return {@code [texts.size()][dimension()]}, in input order, each L2-normalised
   * @throws IllegalArgumentException naming the offending index or value
   * @throws IllegalStateException if the encoder is closed or the model run fails
   */
  public float[][] encode(List<String> texts, String instruction, int maxTokens) {
    return encode(texts, instruction, maxTokens, queryFraming);
  }

  private float[][] encode(List<String> texts, String instruction, int maxTokens, Framing framing) {
    Objects.requireNonNull(texts, "texts is null");
    Objects.requireNonNull(instruction, "instruction is null; use \"\" for none");
    if (maxTokens < 2 || maxTokens > this.maxTokens) {
      throw new IllegalArgumentException(
          "maxTokens is " + maxTokens + "; allowed: 2 to " + this.maxTokens + " (the model's limit)");
    }
    if (framing != null && maxTokens < framing.length()) {
      throw new IllegalArgumentException("maxTokens is " + maxTokens + ", but the template " + template + " takes "
          + framing.length() + " tokens of its own; allowed: " + framing.length() + " to " + this.maxTokens);
    }
    checkOpen();
    int n = texts.size();
    String[] prefixed = new String[n];
    for (int i = 0; i < n; i++) {
      prefixed[i] = instruction + checkText(texts.get(i), i);
    }
    TokenizerModel.Tokens[] tokens = tokenize(Arrays.asList(prefixed), maxTokens, framing);
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Integer.compare(tokens[a].ids().length, tokens[b].ids().length));
    float[][] out = new float[n][];
    int[] lengths = new int[n];
    for (int i = 0; i < n; i++) {
      lengths[i] = tokens[order[i]].ids().length;
    }
    List<int[]> batches =
        cutBatches(lengths, batchSize, batchTokens, device == Device.CPU ? CPU_RUN_COST : GPU_RUN_COST);
    // longest batches first: the runs that finish last are then the short ones, so no core idles long at the end
    batches.sort((a, b) -> Long.compare((long) (b[1] - b[0]) * lengths[b[1] - 1],
        (long) (a[1] - a[0]) * lengths[a[1] - 1]));
    List<Future<?>> pending = new ArrayList<>(batches.size());
    for (int[] range : batches) {
      Runnable task = () -> {
        long[][] batch = new long[range[1] - range[0]][];
        for (int j = range[0]; j < range[1]; j++) {
          batch[j - range[0]] = tokens[order[j]].ids();
        }
        float[][] embeddings = run(batch);
        for (int j = range[0]; j < range[1]; j++) {
          out[order[j]] = embeddings[j - range[0]];
        }
      };
      if (batches.size() == 1) {
        task.run(); // no hand-off for a single batch (a query)
      } else {
        pending.add(runners.submit(task));
      }
    }
    await(pending);
    return out;
  }

  /**
   * What one model run costs beyond its padded tokens, in tokens: the fixed work of a run (a hundred-odd kernel
   * launches) and the lower efficiency of small matrix products. On CPU a run of short queries costs about as much as
   * 8 to 10 more tokens (measured with {@code InterleavedEncoderBenchmark}: batches of 4 to 8 queries beat both 2 and
   * 32, and a cost of 8 did as well as or better than 0, 16, 24 and 32); on a GPU a run costs far more than a token
   * (512 is a guess, not yet measured on one).
   */
  static final int CPU_RUN_COST = 8;
  static final int GPU_RUN_COST = 512;

  /**
   * Cuts texts sorted by token length into batches of consecutive texts, at most {@code maxRows} texts and
   * {@code maxTokens} padded tokens each (a text longer than that runs alone), so that the padded tokens of all
   * batches plus {@code runCost} per batch are smallest, on a tie with the larger last batch (dynamic programming
   * over the cut points, O(n x maxRows)). A padded token costs as much as a real one, so where lengths spread (32
   * queries of 9 to 66 tokens) this cuts between lengths rather than every {@code maxRows} texts.
   *
   * @param lengths token lengths, ascending
   * @return {@code [start, end)} ranges of {@code lengths}, in order, covering it
   */
  static List<int[]> cutBatches(int[] lengths, int maxRows, int maxTokens, int runCost) {
    int n = lengths.length;
    long[] cost = new long[n + 1]; // cost[i]: cheapest cut of the first i texts
    int[] from = new int[n + 1]; // where the last batch of that cut starts
    for (int end = 1; end <= n; end++) {
      long longest = lengths[end - 1];
      cost[end] = Long.MAX_VALUE;
      for (int start = end - 1; start >= 0 && end - start <= maxRows; start--) {
        long padded = (end - start) * longest;
        if (end - start > 1 && padded > maxTokens) {
          break;
        }
        long c = cost[start] + padded + runCost;
        if (c <= cost[end]) { // on a tie the larger batch: fewer runs
          cost[end] = c;
          from[end] = start;
        }
      }
    }
    List<int[]> batches = new ArrayList<>();
    for (int end = n; end > 0; end = from[end]) {
      batches.add(new int[] {from[end], end});
    }
    Collections.reverse(batches);
    return batches;
  }

  private static void await(List<Future<?>> pending) {
    try {
      for (Future<?> f : pending) {
        f.get();
      }
    } catch (InterruptedException e) {
      pending.forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while encoding", e);
    } catch (CancellationException e) {
      throw new IllegalStateException("the encoder was closed while encoding", e);
    } catch (ExecutionException e) {
      pending.forEach(f -> f.cancel(true));
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /**
   * Cuts {@code text} into consecutive chunks of at most {@code tokensPerChunk} tokens of this model's tokenizer
   * (special tokens not counted), as LLM-Embedder chunks long documents and conversations for memory retrieval. The
   * cuts fall where a token starts, so the chunks concatenated give back {@code text} exactly (lossless), whatever
   * the script: with a BERT tokenizer each CJK character is a token, and a word of one token is never split, while a
   * word of several WordPiece or BPE tokens may be cut between them (as LLM-Embedder's token chunks are). No template
   * or instruction is involved. An empty text gives one empty chunk.
   *
   * @param tokensPerChunk at least 1 (LLM-Embedder's long-range language modeling uses 128)
   * @return the chunks in order, none empty unless {@code text} is
   * @throws IllegalArgumentException if {@code text} is null or {@code tokensPerChunk < 1}
   */
  public List<String> chunk(String text, int tokensPerChunk) {
    if (text == null) {
      throw new IllegalArgumentException("text is null; use \"\" for an empty text");
    }
    if (tokensPerChunk < 1) {
      throw new IllegalArgumentException("tokensPerChunk is " + tokensPerChunk + "; must be at least 1");
    }
    checkOpen();
    return tokenizer.chunk(text, tokensPerChunk);
  }

  /** Token ids of {@code texts}, each cut to {@code maxTokens}, between the framing's ids when there is one. */
  private TokenizerModel.Tokens[] tokenize(List<String> texts, int maxTokens, Framing framing) {
    if (framing == null) {
      return tokenizer.encode(texts, maxTokens);
    }
    TokenizerModel.Tokens[] body = tokenizer.encode(texts, maxTokens - framing.length(), false);
    TokenizerModel.Tokens[] out = new TokenizerModel.Tokens[body.length];
    for (int i = 0; i < body.length; i++) {
      long[] ids = new long[framing.length() + body[i].ids().length];
      System.arraycopy(framing.before, 0, ids, 0, framing.before.length);
      System.arraycopy(body[i].ids(), 0, ids, framing.before.length, body[i].ids().length);
      System.arraycopy(framing.after, 0, ids, ids.length - framing.after.length, framing.after.length);
      out[i] = new TokenizerModel.Tokens(ids, body[i].truncated());
    }
    return out;
  }

  /**
   * The token ids the model is run on for {@code text} as a query (or key), special tokens, instruction-free:
   * for tests of the template.
   */
  long[] tokenIds(String text, boolean asQuery) {
    return tokenize(List.of(text), maxTokens, asQuery ? queryFraming : keyFraming)[0].ids();
  }

  /** The ids around a templated query or key, or null when the template is {@link TextTemplate#NONE}. */
  private Framing framing(boolean forQuery) {
    if (template.isNone()) {
      return null;
    }
    long[][] around = tokenizer.specialTokensAround();
    long[] prefix = tokenizer.idsWithoutSpecialTokens(template.prefix(forQuery));
    long[] suffix = tokenizer.idsWithoutSpecialTokens(template.suffix(forQuery));
    return new Framing(concat(around[0], prefix), concat(suffix, around[1]));
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /**
   * Mean pooling over the last n positions must average tokens that are the same for every text: the template's
   * suffix (and the tokenizer's closing special tokens), for queries and keys alike.
   */
  private void checkPooledPositions() {
    if (pooling.mode() != Pooling.Mode.MEAN_OF_LAST) {
      return;
    }
    for (boolean forQuery : new boolean[] {true, false}) {
      Framing f = forQuery ? queryFraming : keyFraming;
      int suffixTokens = f != null ? f.after.length : tokenizer.specialTokensAround()[1].length;
      if (pooling.positions() > suffixTokens) {
        throw new IllegalArgumentException("pooling " + pooling + " averages the last " + pooling.positions()
            + " positions, but the " + (forQuery ? "query" : "key") + " suffix '" + template.suffix(forQuery)
            + "' of template " + template + " ends the sequence with only " + suffixTokens + " tokens of "
            + tokenizer.source() + " (closing special tokens included); pool at most " + suffixTokens
            + " positions, or use a template whose suffix has at least " + pooling.positions() + " tokens");
      }
    }
  }

  /** The number of tokens of {@code text} (special tokens included, no instruction, no truncation). */
  public int countTokens(String text) {
    checkOpen();
    return tokenizer.countTokens(checkText(text, 0));
  }

  /** The embedding dimension. */
  public int dimension() {
    return dimension;
  }

  /** The longest sequence the model takes, in tokens. */
  public int maxTokens() {
    return maxTokens;
  }

  /** The model's name, e.g. {@code bge-small-en-v1.5} or the model directory's name. */
  public String modelName() {
    return modelName;
  }

  /**
   * The model output whose rows are pooled into embeddings, as the graph was exported (e.g.
   * {@code last_hidden_state}; the name from {@link Builder#outputName(String)} when one was chosen), whether or not
   * the graph was rewritten at load time.
   */
  public String outputName() {
    return pooledOutput;
  }

  /** The pooling in use. */
  public Pooling pooling() {
    return pooling;
  }

  /** The instructions in use. */
  public InstructionSet instructions() {
    return instructions;
  }

  /** The text template around queries and keys ({@link TextTemplate#NONE} for BERT-like models). */
  public TextTemplate template() {
    return template;
  }

  /** The side batches are padded on. */
  public PaddingSide paddingSide() {
    return paddingSide;
  }

  /** The adapter {@link #encodeQuery} and {@link #encodeQueries} apply, if any. */
  public Optional<QueryAdapter> queryAdapter() {
    return Optional.ofNullable(queryAdapter);
  }

  /** What the load-time graph rewrite did (for tests and benchmarks), or empty when the graph runs as exported. */
  Optional<GraphRewrite.Result> graphRewrite() {
    return Optional.ofNullable(rewrite);
  }

  /** The device the model runs on (never {@link Device#AUTO}). */
  public Device device() {
    return device;
  }

  /** Releases the ONNX session and the tokenizer. Idempotent; calls after close throw {@link IllegalStateException}. */
  @Override
  public void close() {
    runPermits.acquireUninterruptibly(parallelRuns); // waits for the runs in flight
    try {
      if (closed) {
        return;
      }
      closed = true;
      // batches of bulk calls that have not started will never run: cancel them so that their callers return
      runners.shutdownNow().forEach(task -> ((Future<?>) task).cancel(false));
      closeQuietly(session);
      tokenizer.close();
    } finally {
      runPermits.release(parallelRuns);
    }
  }

  // ---------------------------------------------------------------------------------------------- internals

  /** Runs one padded batch and pools it. Rows of {@code batch} are token ids, special tokens included. */
  private float[][] run(long[][] batch) {
    int rows = batch.length;
    int seq = 0;
    for (long[] ids : batch) {
      seq = Math.max(seq, ids.length);
    }
    long[] shape = {rows, seq};
    runPermits.acquireUninterruptibly();
    RunBuffers buffers = spareBuffers.poll();
    try {
      checkOpen();
      if (buffers == null) {
        buffers = new RunBuffers(idInputs);
      }
      boolean left = paddingSide == PaddingSide.LEFT;
      buffers.fill(batch, seq, left);
      Map<String, OnnxTensor> inputs = new HashMap<>();
      try {
        inputs.put(INPUT_IDS, buffers.ids.tensor(env, shape));
        inputs.put(ATTENTION_MASK, buffers.mask.tensor(env, shape));
        if (buffers.types != null) {
          inputs.put(TOKEN_TYPE_IDS, buffers.types.tensor(env, shape));
        }
        if (buffers.positions != null) {
          inputs.put(POSITION_IDS, buffers.positions.tensor(env, shape));
        }
        for (PastInput p : pastInputs) {
          long[] pastShape = p.shape.clone();
          for (int d = 0; d < pastShape.length; d++) {
            if (pastShape[d] < 0) {
              pastShape[d] = rows;
            }
          }
          inputs.put(p.name, OnnxTensor.createTensor(env, ByteBuffer.allocateDirect(0).order(ByteOrder.nativeOrder()),
              pastShape, p.type));
        }
        if (feedsCacheBranch) {
          inputs.put(USE_CACHE_BRANCH, OnnxTensor.createTensor(env, new boolean[] {false}));
        }
        try (OrtSession.Result result = session.run(inputs, Set.of(outputName))) {
          OnnxTensor out = (OnnxTensor) result.get(0);
          long[] outShape = out.getInfo().getShape();
          return pool(out.getFloatBuffer(), outShape, batch, rows, seq, left);
        }
      } finally {
        inputs.values().forEach(OnnxTensor::close);
      }
    } catch (OrtException e) {
      throw new IllegalStateException("model " + modelName + " failed on a batch of " + rows + " x " + seq
          + " tokens: " + e.getMessage(), e);
    } finally {
      if (buffers != null) {
        spareBuffers.offer(buffers);
      }
      runPermits.release();
    }
  }

  /**
   * Direct (native-order) input buffers that ONNX Runtime reads in place, grown on demand and reused across runs,
   * instead of heap arrays per batch copied into native memory: token ids, attention mask, and, when the graph takes
   * them, token types (all 0: one segment) and position ids, each of the element type the graph declares. Used by one
   * run at a time.
   */
  private static final class RunBuffers {
    final IdBuffer ids;
    final IdBuffer mask;
    /** Null when the graph takes no token_type_ids (or no position_ids). */
    final IdBuffer types;
    final IdBuffer positions;

    RunBuffers(Map<String, OnnxJavaType> inputs) {
      ids = new IdBuffer(inputs.get(INPUT_IDS));
      mask = new IdBuffer(inputs.get(ATTENTION_MASK));
      types = inputs.containsKey(TOKEN_TYPE_IDS) ? new IdBuffer(inputs.get(TOKEN_TYPE_IDS)) : null;
      positions = inputs.containsKey(POSITION_IDS) ? new IdBuffer(inputs.get(POSITION_IDS)) : null;
    }

    /**
     * Writes {@code batch} padded to {@code seq} columns, the padding before ({@code left}) or after each row; the
     * buffers' limits become {@code rows * seq}. Padding has id 0, mask 0 and position 1 (as HuggingFace's
     * {@code position_ids.masked_fill_(attention_mask == 0, 1)}); a row's own tokens have positions 0..length-1.
     */
    void fill(long[][] batch, int seq, boolean left) {
      int size = batch.length * seq;
      ids.reset(size);
      mask.reset(size);
      if (types != null) {
        types.zeros(size);
      }
      if (positions != null) {
        positions.reset(size);
      }
      for (long[] row : batch) {
        int pad = seq - row.length;
        if (left) {
          pad(pad);
        }
        for (int t = 0; t < row.length; t++) {
          ids.put(row[t]);
          mask.put(1L);
          if (positions != null) {
            positions.put(t);
          }
        }
        if (!left) {
          pad(pad);
        }
      }
      ids.flip();
      mask.flip();
      if (positions != null) {
        positions.flip();
      }
    }

    private void pad(int count) {
      for (int t = 0; t < count; t++) {
        ids.put(0L);
        mask.put(0L);
        if (positions != null) {
          positions.put(1L);
        }
      }
    }
  }

  /** One id input's direct buffer, int64 or int32 as the graph declares. */
  private static final class IdBuffer {
    private final boolean int32;
    private LongBuffer longs;
    private IntBuffer ints;

    IdBuffer(OnnxJavaType type) {
      this.int32 = type == OnnxJavaType.INT32;
      allocate(0);
    }

    private void allocate(int capacity) {
      ByteBuffer bytes = ByteBuffer.allocateDirect(capacity * (int32 ? Integer.BYTES : Long.BYTES))
          .order(ByteOrder.nativeOrder());
      longs = int32 ? null : bytes.asLongBuffer();
      ints = int32 ? bytes.asIntBuffer() : null;
    }

    private int capacity() {
      return int32 ? ints.capacity() : longs.capacity();
    }

    /** Empties the buffer for {@code size} values, growing it when needed. */
    void reset(int size) {
      if (capacity() < size) {
        allocate(Math.max(size, 2 * capacity()));
      }
      if (int32) {
        ints.clear();
      } else {
        longs.clear();
      }
    }

    /** {@code size} zeros: the buffer is never written, so fresh memory stays zero. */
    void zeros(int size) {
      if (capacity() < size) {
        allocate(Math.max(size, 2 * capacity()));
      }
      if (int32) {
        ints.clear().limit(size);
      } else {
        longs.clear().limit(size);
      }
    }

    void put(long value) {
      if (int32) {
        ints.put((int) value); // token ids and positions are far below 2^31
      } else {
        longs.put(value);
      }
    }

    void flip() {
      if (int32) {
        ints.flip();
      } else {
        longs.flip();
      }
    }

    OnnxTensor tensor(OrtEnvironment env, long[] shape) throws OrtException {
      return int32 ? OnnxTensor.createTensor(env, ints, shape) : OnnxTensor.createTensor(env, longs, shape);
    }
  }

  /**
   * Pools each row's own positions: {@code [start, start + length)}, where {@code start} is 0 with right padding and
   * {@code seq - length} with left padding.
   */
  private float[][] pool(FloatBuffer hidden, long[] shape, long[][] batch, int rows, int seq, boolean left) {
    float[][] out;
    if (shape.length == 2) { // the graph pools itself (e.g. a sentence_embedding output)
      int dim = (int) shape[1];
      out = new float[rows][dim];
      for (int r = 0; r < rows; r++) {
        hidden.get(r * dim, out[r]);
      }
    } else {
      int dim = (int) shape[2];
      out = new float[rows][dim];
      for (int r = 0; r < rows; r++) {
        int length = batch[r].length;
        int start = left ? seq - length : 0;
        int base = r * seq * dim;
        // the positions pooled: [from, to)
        int from = switch (pooling.mode()) {
          case CLS, MEAN -> start;
          case LAST_TOKEN -> start + length - 1;
          // at most the row's length: only the probe's one-token row is shorter than a template's suffix
          case MEAN_OF_LAST -> start + length - Math.min(pooling.positions(), length);
        };
        int to = pooling.mode() == Pooling.Mode.CLS ? start + 1 : start + length;
        if (to - from == 1) {
          hidden.get(base + from * dim, out[r]);
          continue;
        }
        float[] acc = out[r];
        for (int t = from; t < to; t++) {
          int off = base + t * dim;
          for (int d = 0; d < dim; d++) {
            acc[d] += hidden.get(off + d);
          }
        }
        for (int d = 0; d < dim; d++) {
          acc[d] /= to - from;
        }
      }
    }
    for (float[] v : out) {
      normalize(v);
    }
    return out;
  }

  private static void normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    float inv = sum > 0 ? (float) (1.0 / Math.sqrt(sum)) : 0f;
    for (int i = 0; i < v.length; i++) {
      v[i] *= inv;
    }
  }

  /**
   * Runs the model once on the largest token id the tokenizer can produce: proves the graph runs, that the
   * tokenizer fits the model's embedding table, and gives the output dimension.
   */
  private int probe(ModelFiles files) {
    long lastId = tokenizer.vocabSize() - 1L;
    if (files.configVocabSize > 0 && tokenizer.vocabSize() > files.configVocabSize) {
      throw new IllegalArgumentException(tokenizerMismatch(files, "config.json says vocab_size "
          + files.configVocabSize));
    }
    try {
      return run(new long[][] {{lastId}})[0].length;
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException(tokenizerMismatch(files,
          "the model fails on token id " + lastId + ": " + e.getMessage()), e);
    }
  }

  private String tokenizerMismatch(ModelFiles files, String why) {
    return "tokenizer " + files.tokenizerSource + " does not match model " + files.modelSource
        + ": the tokenizer has " + tokenizer.vocabSize() + " token ids but " + why
        + "; use the tokenizer.json exported with the model";
  }

  /**
   * Sorts the graph's inputs into id inputs (their element types into {@code ids}) and empty past inputs; returns
   * whether it takes {@code use_cache_branch}.
   *
   * @throws IllegalArgumentException naming an input that is missing, of an unexpected type, or unknown
   */
  private static boolean readInputs(OrtSession s, String source, Map<String, OnnxJavaType> ids, List<PastInput> past) {
    Map<String, NodeInfo> inputs;
    try {
      inputs = s.getInputInfo();
    } catch (OrtException e) {
      throw new IllegalArgumentException("cannot read the inputs of model " + source + ": " + e.getMessage(), e);
    }
    for (String required : List.of(INPUT_IDS, ATTENTION_MASK)) {
      if (!inputs.containsKey(required)) {
        throw new IllegalArgumentException("model " + source + " has inputs " + inputs.keySet() + " but no '"
            + required + "': expected an encoder or decoder exported by HuggingFace Optimum");
      }
    }
    boolean cacheBranch = false;
    for (Map.Entry<String, NodeInfo> e : inputs.entrySet()) {
      String name = e.getKey();
      if (!(e.getValue().getInfo() instanceof TensorInfo info)) {
        throw new IllegalArgumentException("model " + source + " input '" + name + "' is not a tensor: "
            + e.getValue().getInfo());
      }
      switch (name) {
        case INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS, POSITION_IDS -> {
          if (info.type != OnnxJavaType.INT32 && info.type != OnnxJavaType.INT64) {
            throw new IllegalArgumentException("model " + source + " input '" + name + "' is " + info.type
                + "; expected INT32 or INT64");
          }
          ids.put(name, info.type);
        }
        case USE_CACHE_BRANCH -> cacheBranch = true;
        default -> {
          if (!name.toLowerCase(Locale.ROOT).startsWith("past")) {
            throw new IllegalArgumentException("model " + source + " has input '" + name + "', which an encoder is"
                + " not fed (inputs: " + inputs.keySet() + "); expected a BERT-like encoder taking [" + INPUT_IDS
                + ", " + ATTENTION_MASK + ", " + TOKEN_TYPE_IDS + "] or a decoder taking " + POSITION_IDS
                + ", past_* and " + USE_CACHE_BRANCH + " besides");
          }
          past.add(pastInput(source, name, info));
        }
      }
    }
    return cacheBranch;
  }

  /** The past input's shape with the batch dimension -1 and the past length 0. */
  private static PastInput pastInput(String source, String name, TensorInfo info) {
    if (info.type != OnnxJavaType.FLOAT && info.type != OnnxJavaType.FLOAT16 && info.type != OnnxJavaType.BFLOAT16) {
      throw new IllegalArgumentException("model " + source + " past input '" + name + "' is " + info.type
          + "; expected FLOAT, FLOAT16 or BFLOAT16");
    }
    long[] shape = info.getShape().clone();
    String[] dims = info.getDimensionNames();
    int batchDim = -1;
    for (int d = 0; d < shape.length && batchDim < 0; d++) {
      if (shape[d] < 0 && d < dims.length && dims[d] != null && dims[d].toLowerCase(Locale.ROOT).contains("batch")) {
        batchDim = d;
      }
    }
    for (int d = 0; d < shape.length && batchDim < 0; d++) { // no dimension named like batch: the first dynamic one
      if (shape[d] < 0) {
        batchDim = d;
      }
    }
    if (batchDim < 0) {
      throw new IllegalArgumentException("model " + source + " past input '" + name + "' has the fixed shape "
          + Arrays.toString(shape) + "; expected dynamic batch and past-length dimensions");
    }
    for (int d = 0; d < shape.length; d++) {
      if (shape[d] < 0) {
        shape[d] = d == batchDim ? -1 : 0;
      }
    }
    return new PastInput(name, shape, info.type);
  }

  /** The inputs that make a graph a decoder's, for messages. */
  private static List<String> decoderInputs(OrtSession s) {
    return s.getInputNames().stream()
        .filter(n -> n.equals(POSITION_IDS) || n.toLowerCase(Locale.ROOT).startsWith("past")).sorted().toList();
  }

  /** The output to pool: {@code requested} if not null, else last_hidden_state, else the first rank-3 output. */
  private static String pickOutput(OrtSession s, String source, String requested) {
    try {
      Map<String, NodeInfo> outputs = s.getOutputInfo();
      if (requested != null) {
        NodeInfo node = outputs.get(requested);
        if (node == null) {
          throw new IllegalArgumentException("model " + source + " has no output '" + requested + "'; its outputs: "
              + outputs.keySet());
        }
        if (!(node.getInfo() instanceof TensorInfo t) || (t.getShape().length != 3 && t.getShape().length != 2)) {
          throw new IllegalArgumentException("output '" + requested + "' of model " + source + " is "
              + node.getInfo() + "; expected a tensor [batch, seq, dim] to pool (or [batch, dim], pooled already)");
        }
        return requested;
      }
      if (outputs.containsKey("last_hidden_state")) {
        return "last_hidden_state";
      }
      for (Map.Entry<String, NodeInfo> e : outputs.entrySet()) {
        if (e.getValue().getInfo() instanceof TensorInfo t && t.getShape().length == 3) {
          return e.getKey();
        }
      }
      throw new IllegalArgumentException("model " + source + " has outputs " + outputs.keySet()
          + " but none of shape [batch, seq, dim]: expected 'last_hidden_state'");
    } catch (OrtException e) {
      throw new IllegalArgumentException("cannot read the outputs of model " + source + ": " + e.getMessage(), e);
    }
  }

  /**
   * CPU, or CUDA if asked for (or AUTO) and the ONNX Runtime on the classpath has the CUDA provider. Whether a GPU
   * answers is known only when a session opens on it (see the constructor).
   */
  static Device resolveDevice(Device requested, int cudaDeviceId) {
    Set<OrtProvider> providers = OrtEnvironment.getAvailableProviders();
    boolean cuda = providers.contains(OrtProvider.CUDA);
    return switch (requested) {
      case CPU -> Device.CPU;
      case AUTO -> {
        if (!cuda) {
          LOG.info("Device AUTO: the ONNX Runtime on the classpath has no CUDA provider (it has {}); using the CPU",
              providers);
        }
        yield cuda ? Device.CUDA : Device.CPU;
      }
      case CUDA -> {
        if (!cuda) {
          throw new IllegalStateException("CUDA device " + cudaDeviceId + " requested, but the ONNX Runtime on the "
              + "classpath has no CUDA provider (it has " + providers + "); depend on "
              + "com.microsoft.onnxruntime:onnxruntime_gpu instead of onnxruntime (Maven profile 'gpu'), "
              + "or use Device.CPU or Device.AUTO");
        }
        yield Device.CUDA;
      }
    };
  }

  /**
   * The graph rewritten into ONNX Runtime's fused operators ({@link GraphRewrite}), pruned to the CLS row when the
   * encoder pools position 0 of {@code last_hidden_state}; empty when the graph is not recognised or is too large to
   * read into memory.
   */
  private Optional<GraphRewrite.Result> rewrite(ModelFiles files, Builder b) {
    byte[] model = files.modelBytes;
    if (model == null) {
      try {
        if (Files.size(files.modelPath) > Integer.MAX_VALUE - 64) {
          LOG.debug("graph of {} left as it is: over 2 GB", files.modelSource);
          return Optional.empty();
        }
        model = Files.readAllBytes(files.modelPath);
      } catch (IOException e) {
        LOG.debug("graph of {} left as it is: cannot read it ({})", files.modelSource, e.toString());
        return Optional.empty();
      }
    }
    String output = exportedOutput(b);
    boolean cls = pooling.mode() == Pooling.Mode.CLS && paddingSide == PaddingSide.RIGHT;
    return GraphRewrite.rewrite(model, output, cls, files.modelSource);
  }

  /** The output the graph rewrite starts from: the one chosen, else {@code last_hidden_state}. */
  private static String exportedOutput(Builder b) {
    return b.outputName != null ? b.outputName : "last_hidden_state";
  }

  private OrtSession openSession(ModelFiles files, Builder b, Device device) {
    // the options hold native memory too; ONNX Runtime copies them into the session, so they are closed at once
    try (OrtSession.SessionOptions options = sessionOptions(b, device)) {
      return files.modelPath != null
          ? env.createSession(files.modelPath.toString(), options)
          : env.createSession(files.modelBytes, options);
    } catch (OrtException e) {
      if (device == Device.CUDA) {
        throw new IllegalStateException("cannot open model " + files.modelSource + " on CUDA device "
            + b.cudaDeviceId + ": " + e.getMessage(), e);
      }
      throw new IllegalArgumentException("cannot load ONNX model " + files.modelSource + " on " + device + ": "
          + e.getMessage(), e);
    }
  }

  private OrtSession createSession(byte[] model, Builder b, Device device) throws OrtException {
    try (OrtSession.SessionOptions options = sessionOptions(b, device)) {
      return env.createSession(model, options);
    }
  }

  private static OrtSession.SessionOptions sessionOptions(Builder b, Device device) throws OrtException {
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
    options.setIntraOpNumThreads(b.intraOpThreads);
    options.setInterOpNumThreads(1);
    if (b.parallelRuns > 1) {
      // several runs share the cores: an idle intra-op thread that spins takes a core from another run
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
    }
    if (device == Device.CUDA) {
      try {
        options.addCUDA(b.cudaDeviceId);
      } catch (OrtException e) {
        options.close();
        throw new IllegalStateException("CUDA device " + b.cudaDeviceId + " is unavailable: " + e.getMessage()
            + " (needs an NVIDIA GPU with that id, a CUDA 12 runtime and cuDNN 9 on the library path)", e);
      }
    }
    return options;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("encoder " + modelName + " is closed");
    }
  }

  private static String checkText(String text, int index) {
    if (text == null) {
      throw new IllegalArgumentException("text[" + index + "] is null; texts must be non-null (\"\" is allowed)");
    }
    if (!text.isEmpty() && text.isBlank()) {
      throw new IllegalArgumentException("text[" + index + "] is only whitespace (" + text.length()
          + " chars); texts must be empty or contain a non-whitespace character");
    }
    return text;
  }

  private static void closeQuietly(OrtSession s) {
    if (s != null) {
      try {
        s.close();
      } catch (OrtException e) {
        LOG.warn("closing ONNX session failed", e);
      }
    }
  }

  /** Where the model's files come from and what the model is. */
  private record ModelFiles(String name, Path modelPath, byte[] modelBytes, String modelSource,
      byte[] tokenizerJson, String tokenizerSource, Pooling pooling, InstructionSet instructions,
      TextTemplate template, PaddingSide paddingSide, int maxTokens, int configVocabSize) {}

  /**
   * Builds an {@link Encoder}. Not thread-safe; the encoder it builds is.
   *
   * <p>Choose the model with {@link #preset(ModelPreset)} (default {@link ModelPreset#BGE_SMALL_EN_V15}) or
   * {@link #modelDirectory(Path, ModelFamily)}.
   */
  public static final class Builder {
    private ModelPreset preset = ModelPreset.BGE_SMALL_EN_V15;
    private Path directory;
    private Pooling pooling;
    private InstructionSet instructions;
    private TextTemplate template;
    private PaddingSide paddingSide;
    private String outputName;
    private int maxTokens;
    private Device device = Device.CPU;
    private int cudaDeviceId;
    private int batchSize = 32;
    private int batchTokens = 2048;
    private int intraOpThreads = 1;
    private int parallelRuns = Runtime.getRuntime().availableProcessors();
    private long queryCacheSize = 10_000;
    private boolean graphRewrite = true;
    private Path queryAdapterFile;
    private QueryAdapter queryAdapter;

    private Builder() {}

    /** An embedded model (no files needed). Clears any model directory set before. */
    public Builder preset(ModelPreset preset) {
      this.preset = Objects.requireNonNull(preset, "preset");
      this.directory = null;
      return this;
    }

    /**
     * A model directory as HuggingFace Optimum exports it: {@code model.onnx} (or {@code onnx/model.onnx}, with its
     * {@code .onnx_data} beside it for a model over 2 GB) and {@code tokenizer.json}, optionally {@code config.json}
     * and {@code tokenizer_config.json}. Pooling comes from {@code family}, else from {@link #pooling(Pooling)},
     * else from a sentence-transformers {@code 1_Pooling/config.json}; building fails if none says.
     *
     * @param family the model's family (pooling, instructions, template, padding side), or null to set them by hand
     */
    public Builder modelDirectory(Path directory, ModelFamily family) {
      this.directory = Objects.requireNonNull(directory, "directory");
      if (family != null) {
        this.pooling = family.pooling();
        this.instructions = family.instructions();
        this.template = family.template();
        this.paddingSide = family.paddingSide();
      }
      return this;
    }

    /** Overrides the model's pooling. */
    public Builder pooling(Pooling pooling) {
      this.pooling = Objects.requireNonNull(pooling, "pooling");
      return this;
    }

    /** Overrides the model's instructions (for a custom instruction set, or {@link InstructionSet#NONE}). */
    public Builder instructions(InstructionSet instructions) {
      this.instructions = Objects.requireNonNull(instructions, "instructions");
      return this;
    }

    /**
     * Overrides the model's text template (default {@link TextTemplate#NONE}, or the family's). With
     * {@link Pooling#meanOfLast(int)}, {@link #build()} checks that both suffixes have at least that many tokens.
     */
    public Builder template(TextTemplate template) {
      this.template = Objects.requireNonNull(template, "template");
      return this;
    }

    /** Overrides the side batches are padded on (default {@link PaddingSide#RIGHT}, or the family's). */
    public Builder paddingSide(PaddingSide side) {
      this.paddingSide = Objects.requireNonNull(side, "side");
      return this;
    }

    /**
     * The graph output to pool (default {@code last_hidden_state}, else the first output of shape
     * {@code [batch, seq, dim]}); {@link #build()} fails naming the graph's outputs when it has none of this name or
     * it is not of shape {@code [batch, seq, dim]} or {@code [batch, dim]}.
     */
    public Builder outputName(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("output name is blank; give a graph output's name, e.g. last_hidden_state");
      }
      this.outputName = name;
      return this;
    }

    /** Lowers the model's sequence limit, in tokens (default: the model's own limit). */
    public Builder maxTokens(int maxTokens) {
      if (maxTokens < 2) {
        throw new IllegalArgumentException("maxTokens is " + maxTokens + "; must be at least 2");
      }
      this.maxTokens = maxTokens;
      return this;
    }

    /**
     * Where to run (default {@link Device#CPU}). {@link Device#CUDA} and {@link Device#AUTO} use CUDA device 0
     * unless {@link #cudaDevice(int)} says otherwise.
     */
    public Builder device(Device device) {
      this.device = Objects.requireNonNull(device, "device");
      return this;
    }

    /**
     * Runs on the NVIDIA GPU with this CUDA device id ({@code 0} is the first): shorthand for
     * {@code device(Device.CUDA)} with that id. Needs {@code onnxruntime_gpu} (Maven profile {@code gpu}); without a
     * CUDA provider or GPU, {@link #build()} throws {@link IllegalStateException}. For a fallback to the CPU instead,
     * call {@code device(Device.AUTO)} after this (the id is kept).
     */
    public Builder cudaDevice(int id) {
      if (id < 0) {
        throw new IllegalArgumentException("cudaDevice is " + id + "; must be 0 or more (a CUDA device ordinal)");
      }
      this.cudaDeviceId = id;
      this.device = Device.CUDA;
      return this;
    }

    /** Texts per model run, at most (default 32); see also {@link #batchTokens(int)}. */
    public Builder batchSize(int batchSize) {
      this.batchSize = atLeastOne("batchSize", batchSize);
      return this;
    }

    /**
     * Padded tokens per model run (rows x longest row; default 2,048). A single text longer than this still runs, alone.
     */
    public Builder batchTokens(int tokens) {
      this.batchTokens = atLeastOne("batchTokens", tokens);
      return this;
    }

    /**
     * Model runs that may execute at once (default: available processors). A bulk {@code encode} spreads its batches
     * over them, and concurrent callers share them. With the default of one {@linkplain #intraOpThreads intra-op
     * thread} per run this keeps every core busy without oversubscription, which gives the highest throughput on
     * CPU; for the lowest latency of single queries on an idle machine, use {@code parallelRuns(1)} and
     * {@code intraOpThreads(cores)} instead.
     */
    public Builder parallelRuns(int runs) {
      this.parallelRuns = atLeastOne("parallelRuns", runs);
      return this;
    }

    /** ONNX Runtime intra-op threads per model run (default 1; see {@link #parallelRuns(int)}). */
    public Builder intraOpThreads(int threads) {
      this.intraOpThreads = atLeastOne("intraOpThreads", threads);
      return this;
    }

    /**
     * Whether to rewrite a BERT-like graph at load time into ONNX Runtime's fused operators (default on; CPU only):
     * each self-attention block becomes one {@code Attention} node (for a dynamically quantized graph, its attention
     * core one {@code MultiHeadAttention} node, the quantized projections as exported), and for fp32 each bias +
     * residual + layer norm one {@code SkipLayerNormalization}; with CLS pooling and right padding the last layer is
     * computed for the CLS row only (about 7% fewer FLOPs on 320-token texts). The embeddings are the same (cosine >=
     * 0.9999 fp32, >= 0.999 int8, tested on SciFact); a graph of any other form runs as exported (the reason is logged
     * at debug level). The rewrite holds two to three times the model's size on the Java heap for a moment while the
     * encoder loads (about 400 MB for the fp32 preset); if that heap is not there, the graph runs as exported and a
     * warning says so. Off runs every graph as exported. Figures:
     * {@code benchmarks/README.md}.
     */
    public Builder graphRewrite(boolean on) {
      this.graphRewrite = on;
      return this;
    }

    /** How many query embeddings {@link Encoder#encodeQuery} keeps (default 10,000; 0 disables the cache). */
    public Builder queryCacheSize(long size) {
      if (size < 0) {
        throw new IllegalArgumentException("queryCacheSize is " + size + "; must be 0 (off) or more");
      }
      this.queryCacheSize = size;
      return this;
    }

    /**
     * A {@link QueryAdapter} file (see {@link QueryAdapter#load}) for {@link Encoder#encodeQuery} and
     * {@link Encoder#encodeQueries}; read by {@link #build()}, which refuses it when its model name or dimension is
     * not the encoder's. Replaces an adapter set before.
     */
    public Builder queryAdapter(Path file) {
      this.queryAdapterFile = Objects.requireNonNull(file, "file");
      this.queryAdapter = null;
      return this;
    }

    /** An adapter in memory; as {@link #queryAdapter(Path)}. Replaces an adapter set before. */
    public Builder queryAdapter(QueryAdapter adapter) {
      this.queryAdapter = Objects.requireNonNull(adapter, "adapter");
      this.queryAdapterFile = null;
      return this;
    }

    /**
     * Loads the model and tokenizer and checks that they fit together, and the query adapter if one was given.
     *
     * @throws IllegalArgumentException if a file is missing, unreadable or broken, the tokenizer does not match
     *     the model, the pooling is unknown, or the query adapter was trained for another model or dimension; the
     *     message names the file
     * @throws IllegalStateException if a preset's artifact is not on the classpath or CUDA is unavailable
     */
    public Encoder build() {
      if (maxTokens > 0 && directory == null && maxTokens > preset.maxTokens()) {
        throw new IllegalArgumentException("maxTokens is " + maxTokens + "; " + preset.modelName()
            + " takes at most " + preset.maxTokens());
      }
      // read before the model, so that a broken adapter file fails fast
      QueryAdapter adapter = queryAdapterFile != null ? QueryAdapter.load(queryAdapterFile) : queryAdapter;
      String adapterSource = queryAdapterFile != null ? queryAdapterFile.toString() : String.valueOf(queryAdapter);
      return new Encoder(this, directory != null ? fromDirectory() : fromPreset(), adapter, adapterSource);
    }

    private ModelFiles fromPreset() {
      return new ModelFiles(preset.modelName(), null, resource(preset.onnxResource()), "classpath:"
          + preset.onnxResource(), resource(preset.tokenizerResource()), "classpath:" + preset.tokenizerResource(),
          pooling != null ? pooling : preset.family().pooling(),
          instructions != null ? instructions : preset.family().instructions(),
          template != null ? template : preset.family().template(),
          paddingSide != null ? paddingSide : preset.family().paddingSide(), preset.maxTokens(), 0);
    }

    private byte[] resource(String name) {
      try (InputStream in = Encoder.class.getClassLoader().getResourceAsStream(name)) {
        if (in == null) {
          throw new IllegalStateException("model preset " + preset + " needs " + name + " from the Maven artifact "
              + preset.artifact() + ", which is not on the classpath");
        }
        return in.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + name + " from the classpath", e);
      }
    }

    private ModelFiles fromDirectory() {
      if (!Files.isDirectory(directory)) {
        throw new IllegalArgumentException("model directory " + directory + " does not exist or is not a directory");
      }
      Path model = firstExisting(directory.resolve("model.onnx"), directory.resolve("onnx/model.onnx"));
      if (model == null) {
        throw new IllegalArgumentException("model directory " + directory
            + " has neither model.onnx nor onnx/model.onnx (the layout HuggingFace Optimum exports)");
      }
      Path tokenizerFile = firstExisting(directory.resolve("tokenizer.json"), directory.resolve("onnx/tokenizer.json"));
      if (tokenizerFile == null) {
        throw new IllegalArgumentException("model directory " + directory + " has no tokenizer.json");
      }
      JsonNode config = readJson(directory.resolve("config.json"));
      JsonNode tokenizerConfig = readJson(directory.resolve("tokenizer_config.json"));
      Pooling p = pooling != null ? pooling : poolingFromSentenceTransformers(directory);
      if (p == null) {
        throw new IllegalArgumentException("pooling of model directory " + directory + " is unknown: pass a "
            + "ModelFamily to modelDirectory(...) or call pooling(Pooling.CLS, MEAN, LAST_TOKEN or meanOfLast(n))");
      }
      int limit = 512;
      long tokenizerLimit = tokenizerConfig.path("model_max_length").asLong(0);
      if (tokenizerLimit > 0 && tokenizerLimit < 1_000_000) {
        limit = (int) tokenizerLimit;
      } else if (config.path("max_position_embeddings").asInt(0) > 0) {
        limit = config.path("max_position_embeddings").asInt();
      }
      if (maxTokens > limit) {
        throw new IllegalArgumentException("maxTokens is " + maxTokens + "; model " + directory + " takes at most "
            + limit);
      }
      try {
        return new ModelFiles(directory.getFileName().toString(), model, null, model.toString(),
            Files.readAllBytes(tokenizerFile), tokenizerFile.toString(), p,
            instructions != null ? instructions : InstructionSet.NONE,
            template != null ? template : TextTemplate.NONE, paddingSide != null ? paddingSide : PaddingSide.RIGHT,
            limit, config.path("vocab_size").asInt(0));
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read " + tokenizerFile + ": " + e.getMessage(), e);
      }
    }

    private static int atLeastOne(String name, int value) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " is " + value + "; must be at least 1");
      }
      return value;
    }

    private static Pooling poolingFromSentenceTransformers(Path dir) {
      JsonNode st = readJson(dir.resolve("1_Pooling/config.json"));
      if (st.path("pooling_mode_cls_token").asBoolean(false)) {
        return Pooling.CLS;
      }
      if (st.path("pooling_mode_mean_tokens").asBoolean(false)) {
        return Pooling.MEAN;
      }
      return null;
    }

    private static JsonNode readJson(Path file) {
      if (!Files.isRegularFile(file)) {
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
      }
      try {
        return new ObjectMapper().readTree(file.toFile());
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot parse " + file + ": " + e.getMessage(), e);
      }
    }

    private static Path firstExisting(Path... candidates) {
      for (Path p : candidates) {
        if (Files.isRegularFile(p)) {
          return p;
        }
      }
      return null;
    }
  }
}
