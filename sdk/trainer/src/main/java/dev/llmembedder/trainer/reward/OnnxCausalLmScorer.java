package dev.llmembedder.trainer.reward;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.llmembedder.encoder.Device;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link LlmScorer} running a causal language model exported to ONNX in this process, through ONNX Runtime, with
 * its HuggingFace tokenizer (DJL).
 *
 * <p><b>Model directory</b> (HuggingFace Optimum's layout): {@code model.onnx} (or {@code onnx/model.onnx}) and
 * {@code tokenizer.json} (or {@code onnx/tokenizer.json}); optionally {@code config.json} ({@code n_positions} or
 * {@code max_position_embeddings}) or {@code genai_config.json} ({@code model.context_length}) for the token limit.
 *
 * <p><b>Graph.</b> Inputs: {@code input_ids} (required), {@code attention_mask} and {@code position_ids} (fed when
 * present), each int32 or int64 {@code [batch, seq]}. A graph exported with a key-value cache also has past inputs,
 * any input whose name starts with {@code past} ({@code past_0}, {@code past_key_values.0.key}, ...): each gets an
 * empty tensor with past length 0, its shape read from the session's input info: fixed dimensions are kept, the
 * dynamic dimension named like {@code batch} (or, when none is, the first dynamic one) gets the batch size, and every
 * other dynamic dimension (the past length) gets 0; float32, float16 and bfloat16 are supported. Optimum's merged
 * decoders' {@code use_cache_branch} is fed {@code false}. Any other input is refused when the scorer is built. Output:
 * {@code logits} {@code [batch, seq, vocab]} (or the only rank-3 output).
 *
 * <p><b>Where the answer starts.</b> The prompt ({@link RewardPrompt#render}) is tokenized with the tokenizer's
 * special tokens (a Llama BOS, none for GPT-2), the answer separately without special tokens, and the two id
 * sequences are concatenated. Tokenizing prompt + answer as one text and cutting at the prompt's length would be
 * ambiguous: a byte-level BPE merges a prompt ending in a space with the answer's first word ({@code " Paris"}), so a
 * token could belong to both, and the answer's tokens would change with the candidate in front of it. Tokenized
 * separately, the answer's tokens are exactly {@code tokenize(answer)}, the same sequence under every candidate of a
 * query, and the prompt's tokens are never scored (the way fine-tuning code masks prompt labels). With a tokenizer that
 * marks the start of a sequence (SentencePiece's {@code ▁}), the answer is tokenized as a sequence of its own, as in
 * that recipe. The token boundary coincides with a tokenization of the joint text whenever the prompt ends in a
 * separator the tokenizer never merges across, such as {@link RewardPrompt#DEFAULT}'s line break.
 *
 * <p><b>Scores.</b> The logits at position t predict token t+1. For each answer token only, the log-softmax is
 * computed in double precision over the whole vocabulary, stably: {@code x[id] - max - log(sum(exp(x - max)))}.
 *
 * <p><b>Batching.</b> Requests are tokenized, sorted by length and run in batches of at most
 * {@link Builder#batchSize(int)} rows and {@link Builder#batchTokens(int)} padded tokens, padded on the right (pad id
 * 0, attention mask 0, position ids {@code 0..len-1} for the real tokens). In a causal model no real token attends to
 * the padding after it, so batched scores equal one-by-one scores up to float rounding (the test holds them within
 * 1e-4). Results come back in input order.
 *
 * <p><b>Limits.</b> A request whose prompt and answer exceed {@link Builder#maxTokens(int)} tokens together is refused
 * (shorten the candidate); so is one whose prompt has no token (an empty prompt and no BOS: the first answer token
 * would have nothing to be predicted from) or whose answer has none.
 *
 * <p><b>Thread-safety.</b> Thread-safe: concurrent calls tokenize and run the session concurrently (ONNX Runtime
 * sessions and DJL tokenizers allow it); {@link #close()} waits for running calls. Holds native memory: close it.
 */
public final class OnnxCausalLmScorer implements LlmScorer {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxCausalLmScorer.class);
  private static final String INPUT_IDS = "input_ids";
  private static final String ATTENTION_MASK = "attention_mask";
  private static final String POSITION_IDS = "position_ids";
  private static final String USE_CACHE_BRANCH = "use_cache_branch";

  /** An empty past input: {@code shape} with -1 where the batch size goes. */
  private record PastInput(String name, long[] shape, OnnxJavaType type) {}

  /** One request after tokenization: prompt ids then answer ids. */
  private record Tokenized(int index, long[] ids, int promptLength) {}

  private final String source;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final HuggingFaceTokenizer tokenizer;
  private final RewardPrompt prompt;
  private final LogProbReduction reduction;
  private final int batchSize;
  private final int batchTokens;
  private final int maxTokens;
  private final Map<String, OnnxJavaType> idInputs;
  private final List<PastInput> pastInputs;
  private final boolean feedsCacheBranch;
  private final String logitsName;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private boolean closed;

  private OnnxCausalLmScorer(Builder b, Path model, HuggingFaceTokenizer tokenizer, String tokenizerSource,
      int tokenizerVocab, int limit) {
    this.source = model.toString();
    this.tokenizer = tokenizer;
    this.prompt = b.prompt;
    this.reduction = b.reduction;
    this.batchSize = b.batchSize;
    this.batchTokens = b.batchTokens;
    this.maxTokens = limit;
    this.env = OrtEnvironment.getEnvironment();
    OrtSession s = null;
    try {
      s = openSession(env, model, b);
      Map<String, NodeInfo> inputs = s.getInputInfo();
      if (!inputs.containsKey(INPUT_IDS)) {
        throw new IllegalArgumentException("model " + source + " has inputs " + inputs.keySet() + " but no '"
            + INPUT_IDS + "': expected a causal LM exported by HuggingFace Optimum");
      }
      Map<String, OnnxJavaType> ids = new HashMap<>();
      List<PastInput> past = new ArrayList<>();
      boolean cacheBranch = false;
      for (Map.Entry<String, NodeInfo> e : inputs.entrySet()) {
        String name = e.getKey();
        TensorInfo info = tensorInfo(e.getValue(), name);
        if (name.equals(INPUT_IDS) || name.equals(ATTENTION_MASK) || name.equals(POSITION_IDS)) {
          if (info.type != OnnxJavaType.INT32 && info.type != OnnxJavaType.INT64) {
            throw new IllegalArgumentException("model " + source + " input '" + name + "' is " + info.type
                + "; expected INT32 or INT64");
          }
          ids.put(name, info.type);
        } else if (name.equals(USE_CACHE_BRANCH)) {
          cacheBranch = true;
        } else if (name.toLowerCase(Locale.ROOT).startsWith("past")) {
          past.add(pastInput(name, info));
        } else {
          throw new IllegalArgumentException("model " + source + " has input '" + name + "', which a causal LM "
              + "scorer does not know how to feed (inputs: " + inputs.keySet() + "); expected " + INPUT_IDS + ", "
              + ATTENTION_MASK + ", " + POSITION_IDS + ", past_* and " + USE_CACHE_BRANCH);
        }
      }
      this.idInputs = Map.copyOf(ids);
      this.pastInputs = List.copyOf(past);
      this.feedsCacheBranch = cacheBranch;
      this.logitsName = pickLogits(s);
      long vocab = ((TensorInfo) s.getOutputInfo().get(logitsName).getInfo()).getShape()[2];
      if (vocab > 0 && tokenizerVocab > vocab) {
        throw new IllegalArgumentException("tokenizer " + tokenizerSource + " does not match model " + source
            + ": the tokenizer has " + tokenizerVocab + " token ids but the model's logits cover " + vocab
            + "; use the tokenizer.json exported with the model");
      }
      this.session = s;
    } catch (OrtException e) {
      closeQuietly(s);
      throw new IllegalArgumentException("cannot read the inputs and outputs of model " + source + ": "
          + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(s);
      throw e;
    }
    LOG.info("Loaded causal LM {} ({} past inputs, limit {} tokens, {} reduction)", source, pastInputs.size(),
        maxTokens == Integer.MAX_VALUE ? "none" : maxTokens, reduction);
  }

  /**
   * A builder for a scorer over the model in {@code modelDirectory} (see the class comment for its layout).
   *
   * @throws NullPointerException if {@code modelDirectory} is null
   */
  public static Builder builder(Path modelDirectory) {
    return new Builder(Objects.requireNonNull(modelDirectory, "modelDirectory"));
  }

  @Override
  public LogProbReduction reduction() {
    return reduction;
  }

  /** The most tokens (prompt and answer together) one request may have; {@link Integer#MAX_VALUE} for no limit. */
  public int maxTokens() {
    return maxTokens;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException naming the request index: a null request, an answer with no tokens, a prompt
   *     with no tokens, or more than {@link #maxTokens()} tokens in all
   * @throws IllegalStateException if the scorer is closed or ONNX Runtime fails on a batch
   */
  @Override
  public List<AnswerLogProbs> logProbs(List<ScoreRequest> requests) {
    Objects.requireNonNull(requests, "requests is null");
    lock.readLock().lock();
    try {
      checkOpen();
      Tokenized[] tokenized = tokenize(requests);
      AnswerLogProbs[] out = new AnswerLogProbs[tokenized.length];
      Tokenized[] sorted = tokenized.clone();
      Arrays.sort(sorted, Comparator.comparingInt((Tokenized t) -> t.ids.length));
      int from = 0;
      while (from < sorted.length) {
        int to = from + 1;
        // sorted ascending: the last row of a batch is its longest
        while (to < sorted.length && to - from < batchSize
            && (long) (to - from + 1) * sorted[to].ids.length <= batchTokens) {
          to++;
        }
        Tokenized[] batch = Arrays.copyOfRange(sorted, from, to);
        AnswerLogProbs[] scored = run(batch);
        for (int i = 0; i < batch.length; i++) {
          out[batch[i].index] = scored[i];
        }
        from = to;
      }
      return List.of(out);
    } finally {
      lock.readLock().unlock();
    }
  }

  private Tokenized[] tokenize(List<ScoreRequest> requests) {
    List<String> prompts = new ArrayList<>(requests.size());
    List<String> answers = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      ScoreRequest r = requests.get(i);
      if (r == null) {
        throw new IllegalArgumentException("requests[" + i + "] is null");
      }
      prompts.add(prompt.render(r));
      answers.add(r.answer());
    }
    if (requests.isEmpty()) {
      return new Tokenized[0];
    }
    Encoding[] promptEncodings = tokenizer.batchEncode(prompts, true, false);
    Encoding[] answerEncodings = tokenizer.batchEncode(answers, false, false);
    Tokenized[] out = new Tokenized[requests.size()];
    for (int i = 0; i < out.length; i++) {
      long[] p = promptEncodings[i].getIds();
      long[] a = answerEncodings[i].getIds();
      if (a.length == 0) {
        throw new IllegalArgumentException("requests[" + i + "]: answer '" + excerpt(answers.get(i))
            + "' has no tokens; the reward needs at least one answer token");
      }
      if (p.length == 0) {
        throw new IllegalArgumentException("requests[" + i + "]: the prompt '" + excerpt(prompts.get(i))
            + "' has no tokens and the tokenizer adds no BOS, so the first answer token would be predicted from"
            + " nothing; give a template or candidate that is not empty");
      }
      if (p.length + a.length > maxTokens) {
        throw new IllegalArgumentException("requests[" + i + "] has " + p.length + " prompt + " + a.length
            + " answer tokens = " + (p.length + a.length) + "; model " + source + " takes at most " + maxTokens
            + " (shorten the candidate)");
      }
      long[] ids = Arrays.copyOf(p, p.length + a.length);
      System.arraycopy(a, 0, ids, p.length, a.length);
      out[i] = new Tokenized(i, ids, p.length);
    }
    return out;
  }

  private AnswerLogProbs[] run(Tokenized[] batch) {
    int rows = batch.length;
    int seq = batch[rows - 1].ids.length;
    long[] ids = new long[rows * seq];
    long[] mask = new long[rows * seq];
    long[] positions = new long[rows * seq];
    for (int r = 0; r < rows; r++) {
      long[] row = batch[r].ids;
      System.arraycopy(row, 0, ids, r * seq, row.length);
      for (int t = 0; t < row.length; t++) {
        mask[r * seq + t] = 1;
        positions[r * seq + t] = t;
      }
    }
    long[] shape = {rows, seq};
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      inputs.put(INPUT_IDS, idTensor(INPUT_IDS, ids, shape));
      if (idInputs.containsKey(ATTENTION_MASK)) {
        inputs.put(ATTENTION_MASK, idTensor(ATTENTION_MASK, mask, shape));
      }
      if (idInputs.containsKey(POSITION_IDS)) {
        inputs.put(POSITION_IDS, idTensor(POSITION_IDS, positions, shape));
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
      try (OrtSession.Result result = session.run(inputs, Set.of(logitsName))) {
        OnnxTensor logits = (OnnxTensor) result.get(0);
        long[] outShape = logits.getInfo().getShape();
        if (outShape.length != 3 || outShape[0] != rows || outShape[1] != seq) {
          throw new IllegalStateException("model " + source + " returned logits of shape " + Arrays.toString(outShape)
              + " for a batch of " + rows + " x " + seq + " tokens; expected [" + rows + ", " + seq + ", vocab]");
        }
        return logSoftmaxOfAnswers(batch, logits.getFloatBuffer(), seq, Math.toIntExact(outShape[2]));
      }
    } catch (OrtException e) {
      throw new IllegalStateException("model " + source + " failed on a batch of " + rows + " x " + seq
          + " tokens: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  private AnswerLogProbs[] logSoftmaxOfAnswers(Tokenized[] batch, FloatBuffer logits, int seq, int vocab) {
    AnswerLogProbs[] out = new AnswerLogProbs[batch.length];
    float[] row = new float[vocab];
    for (int r = 0; r < batch.length; r++) {
      Tokenized t = batch[r];
      double[] lp = new double[t.ids.length - t.promptLength];
      for (int j = t.promptLength; j < t.ids.length; j++) {
        long id = t.ids[j];
        if (id >= vocab) {
          throw new IllegalStateException("requests[" + t.index + "]: answer token id " + id + " is outside model "
              + source + "'s vocabulary of " + vocab + "; the tokenizer does not match the model");
        }
        // the buffer holds all rows x seq x vocab floats, so every offset in it fits an int
        logits.get(Math.toIntExact(((long) r * seq + (j - 1)) * vocab), row);
        lp[j - t.promptLength] = logSoftmax(row, (int) id);
      }
      out[r] = new AnswerLogProbs(lp);
    }
    return out;
  }

  /** {@code log softmax(x)[id]} in double precision, shifted by the maximum so that no exp overflows. */
  static double logSoftmax(float[] x, int id) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : x) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : x) {
      sum += Math.exp(v - max);
    }
    return x[id] - max - Math.log(sum);
  }

  private OnnxTensor idTensor(String name, long[] values, long[] shape) throws OrtException {
    if (idInputs.get(name) == OnnxJavaType.INT64) {
      return OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape);
    }
    int[] ints = new int[values.length];
    for (int i = 0; i < ints.length; i++) {
      ints[i] = Math.toIntExact(values[i]);
    }
    return OnnxTensor.createTensor(env, IntBuffer.wrap(ints), shape);
  }

  private PastInput pastInput(String name, TensorInfo info) {
    if (info.type != OnnxJavaType.FLOAT && info.type != OnnxJavaType.FLOAT16 && info.type != OnnxJavaType.BFLOAT16) {
      throw new IllegalArgumentException("model " + source + " past input '" + name + "' is " + info.type
          + "; expected FLOAT, FLOAT16 or BFLOAT16");
    }
    long[] shape = info.getShape().clone();
    String[] dims = info.getDimensionNames();
    int batchDim = -1;
    for (int d = 0; d < shape.length; d++) {
      if (shape[d] < 0 && d < dims.length && dims[d] != null && dims[d].toLowerCase(Locale.ROOT).contains("batch")) {
        batchDim = d;
        break;
      }
    }
    for (int d = 0; d < shape.length && batchDim < 0; d++) {
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

  private TensorInfo tensorInfo(NodeInfo node, String name) {
    if (node.getInfo() instanceof TensorInfo t) {
      return t;
    }
    throw new IllegalArgumentException("model " + source + " input '" + name + "' is not a tensor: " + node.getInfo());
  }

  private String pickLogits(OrtSession s) throws OrtException {
    Map<String, NodeInfo> outputs = s.getOutputInfo();
    if (outputs.get("logits") != null && outputs.get("logits").getInfo() instanceof TensorInfo t
        && t.getShape().length == 3) {
      return "logits";
    }
    List<String> rank3 = outputs.entrySet().stream()
        .filter(e -> e.getValue().getInfo() instanceof TensorInfo t && t.getShape().length == 3)
        .map(Map.Entry::getKey).toList();
    if (rank3.size() == 1) {
      return rank3.get(0);
    }
    throw new IllegalArgumentException("model " + source + " has outputs " + outputs.keySet()
        + " but no 'logits' of shape [batch, seq, vocab]: expected a causal LM exported by HuggingFace Optimum");
  }

  private static OrtSession openSession(OrtEnvironment env, Path model, Builder b) {
    Device device = b.device;
    boolean cuda = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
    if (device == Device.CUDA && !cuda) {
      throw new IllegalStateException("device CUDA requested, but the ONNX Runtime on the classpath has no CUDA "
          + "provider (it has " + OrtEnvironment.getAvailableProviders() + "); depend on "
          + "com.microsoft.onnxruntime:onnxruntime_gpu instead of onnxruntime, or use Device.CPU or AUTO");
    }
    boolean useCuda = device == Device.CUDA || (device == Device.AUTO && cuda);
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setIntraOpNumThreads(b.intraOpThreads);
      options.setInterOpNumThreads(1);
      if (useCuda) {
        options.addCUDA(0);
      }
      return env.createSession(model.toString(), options);
    } catch (OrtException e) {
      throw new IllegalArgumentException("cannot load ONNX model " + model + " on " + (useCuda ? "CUDA" : "CPU")
          + ": " + e.getMessage(), e);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("scorer over " + source + " is closed");
    }
  }

  private static String excerpt(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
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

  /** Waits for running calls, then releases the ONNX session and the tokenizer. Idempotent. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      closeQuietly(session);
      tokenizer.close();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Builds an {@link OnnxCausalLmScorer}. Not thread-safe; the scorer it builds is. */
  public static final class Builder {
    private final Path directory;
    private RewardPrompt prompt = RewardPrompt.DEFAULT;
    private LogProbReduction reduction = LogProbReduction.SUM;
    private int batchSize = 8;
    private int batchTokens = 2048;
    private int maxTokens;
    private int intraOpThreads = Runtime.getRuntime().availableProcessors();
    private Device device = Device.CPU;

    private Builder(Path directory) {
      this.directory = directory;
    }

    /** The text before the answer (default {@link RewardPrompt#DEFAULT}). */
    public Builder prompt(RewardPrompt prompt) {
      this.prompt = Objects.requireNonNull(prompt, "prompt");
      return this;
    }

    /** How {@link LlmScorer#score(List)} reduces the log-probabilities (default {@link LogProbReduction#SUM}). */
    public Builder reduction(LogProbReduction reduction) {
      this.reduction = Objects.requireNonNull(reduction, "reduction");
      return this;
    }

    /** Requests per model run, at most (default 8); see also {@link #batchTokens(int)}. */
    public Builder batchSize(int batchSize) {
      this.batchSize = atLeastOne("batchSize", batchSize);
      return this;
    }

    /**
     * Padded tokens per model run, rows x longest row (default 2,048). The logits of a run take
     * {@code 4 x batchTokens x vocabulary} bytes, twice (ONNX Runtime's and the Java copy): 2,048 tokens of a
     * 32,000-token vocabulary make 262 MB each. A single request longer than this still runs, alone.
     */
    public Builder batchTokens(int batchTokens) {
      this.batchTokens = atLeastOne("batchTokens", batchTokens);
      return this;
    }

    /**
     * The most tokens, prompt and answer together, per request (default: the model's context from
     * {@code config.json} or {@code genai_config.json}, else no limit).
     */
    public Builder maxTokens(int maxTokens) {
      if (maxTokens < 2) {
        throw new IllegalArgumentException("maxTokens is " + maxTokens + "; must be at least 2 (a prompt token and an"
            + " answer token)");
      }
      this.maxTokens = maxTokens;
      return this;
    }

    /** ONNX Runtime intra-op threads (default: available processors). */
    public Builder intraOpThreads(int threads) {
      this.intraOpThreads = atLeastOne("intraOpThreads", threads);
      return this;
    }

    /** Where to run (default {@link Device#CPU}); {@link Device#CUDA} needs {@code onnxruntime_gpu}. */
    public Builder device(Device device) {
      this.device = Objects.requireNonNull(device, "device");
      return this;
    }

    /**
     * Loads the tokenizer and the model and checks that they fit together.
     *
     * @throws IllegalArgumentException if the directory, {@code model.onnx} or {@code tokenizer.json} is missing,
     *     unreadable or broken, the graph's inputs or outputs are not a causal LM's, the tokenizer has more ids than
     *     the model's vocabulary, or {@code maxTokens} exceeds the model's context; the message names the file
     * @throws IllegalStateException if CUDA is asked for and unavailable
     */
    public OnnxCausalLmScorer build() {
      if (!Files.isDirectory(directory)) {
        throw new IllegalArgumentException("model directory " + directory + " does not exist or is not a directory");
      }
      Path model = firstExisting(directory.resolve("model.onnx"), directory.resolve("onnx/model.onnx"));
      if (model == null) {
        throw new IllegalArgumentException("model directory " + directory + " has neither model.onnx nor "
            + "onnx/model.onnx (the layout HuggingFace Optimum exports)");
      }
      Path tokenizerFile = firstExisting(directory.resolve("tokenizer.json"), directory.resolve("onnx/tokenizer.json"));
      if (tokenizerFile == null) {
        throw new IllegalArgumentException("model directory " + directory + " has no tokenizer.json (looked for "
            + directory.resolve("tokenizer.json") + " and " + directory.resolve("onnx/tokenizer.json") + ")");
      }
      int context = contextLength(directory);
      if (maxTokens > 0 && context > 0 && maxTokens > context) {
        throw new IllegalArgumentException("maxTokens is " + maxTokens + "; model " + directory + " takes at most "
            + context);
      }
      int limit = maxTokens > 0 ? maxTokens : context > 0 ? context : Integer.MAX_VALUE;
      byte[] json;
      try {
        json = Files.readAllBytes(tokenizerFile);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read " + tokenizerFile + ": " + e.getMessage(), e);
      }
      int tokenizerVocab = tokenizerVocabSize(json, tokenizerFile);
      HuggingFaceTokenizer tokenizer;
      try {
        // no truncation (too long is an error here) and no padding (done here, on the right, per batch)
        tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
            Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true"));
      } catch (IOException | RuntimeException e) {
        throw new IllegalArgumentException("cannot load tokenizer " + tokenizerFile + ": " + e.getMessage(), e);
      }
      try {
        return new OnnxCausalLmScorer(this, model, tokenizer, tokenizerFile.toString(), tokenizerVocab, limit);
      } catch (RuntimeException e) {
        tokenizer.close();
        throw e;
      }
    }

    /** The context length from {@code config.json} or {@code genai_config.json}; 0 when neither gives one. */
    private static int contextLength(Path dir) {
      JsonNode config = readJson(dir.resolve("config.json"));
      for (String field : List.of("n_positions", "max_position_embeddings")) {
        if (config.path(field).asInt(0) > 0) {
          return config.path(field).asInt();
        }
      }
      return Math.max(0, readJson(dir.resolve("genai_config.json")).path("model").path("context_length").asInt(0));
    }

    /** One more than the largest token id in a {@code tokenizer.json} (vocabulary and added tokens). */
    private static int tokenizerVocabSize(byte[] json, Path file) {
      JsonNode root;
      try {
        root = new ObjectMapper().readTree(json);
      } catch (IOException e) {
        throw new IllegalArgumentException("tokenizer " + file + " is not valid JSON: " + e.getMessage(), e);
      }
      JsonNode vocab = root.path("model").path("vocab");
      if (vocab.isMissingNode() || vocab.isNull()) {
        throw new IllegalArgumentException("tokenizer " + file + " has no model.vocab; expected a HuggingFace "
            + "tokenizer.json (BPE, WordPiece or Unigram)");
      }
      long max = vocab.isObject() ? -1 : vocab.size() - 1L; // BPE / WordPiece: token -> id; Unigram: a list
      if (vocab.isObject()) {
        for (JsonNode id : (Iterable<JsonNode>) vocab::elements) {
          max = Math.max(max, id.asLong());
        }
      }
      for (JsonNode added : root.path("added_tokens")) {
        max = Math.max(max, added.path("id").asLong(-1));
      }
      return Math.toIntExact(max + 1);
    }

    private static JsonNode readJson(Path file) {
      if (!Files.isRegularFile(file)) {
        return MissingNode.getInstance();
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

    private static int atLeastOne(String name, int value) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " is " + value + "; must be at least 1");
      }
      return value;
    }
  }
}
