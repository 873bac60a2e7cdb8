package dev.llmembedder.trainer.finetune;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.llmembedder.encoder.Device;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Pooling;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.data.Batches;
import dev.llmembedder.trainer.data.TrainingExample;
import dev.llmembedder.trainer.internal.AtomicFile;
import dev.llmembedder.trainer.internal.RunIdentity;
import dev.llmembedder.trainer.loss.InfoNceLoss;
import dev.llmembedder.trainer.loss.ScoreLoss;
import dev.llmembedder.trainer.loss.Targets;
import dev.llmembedder.trainer.train.EpochStats;
import dev.llmembedder.trainer.train.TrainingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Full fine-tuning of a BERT encoder's own weights in the JVM, as LLM-Embedder trains its retriever, with DJL's
 * PyTorch engine, and export of the trained weights back into the model's ONNX file, which the SDK's
 * {@code Encoder.builder().modelDirectory(dir, family)} then loads with no new code.
 *
 * <pre>{@code
 * try (EncoderFineTuner tuner = EncoderFineTuner.builder().preset(ModelPreset.BGE_SMALL_EN_V15)
 *     .loss(new InfoNceLoss()).learningRate(1e-5).epochs(1).build()) {
 *   FineTuneResult result = tuner.fit(trainExamples, validationExamples);
 *   tuner.export(Path.of("bge-small-scifact"));   // model.onnx + tokenizer.json
 * }
 * Encoder tuned = Encoder.builder().modelDirectory(Path.of("bge-small-scifact"), ModelFamily.BGE_V15).build();
 * }</pre>
 *
 * <p><b>Model.</b> The weights come from the fp32 ONNX graph's initializers (or from {@code model.safetensors} when
 * the model directory has one); the forward pass is HuggingFace's {@code BertModel} rebuilt from DJL array operations
 * (see {@link #encode}), without dropout, and gives the ONNX Runtime encoder's embeddings to a cosine of at least
 * 0.9999 ({@code FullFineTuneTest}). Only BERT-like encoders (BGE, LLM-Embedder, E5) are supported.
 *
 * <p><b>A step.</b> Each batch ({@link Batches}: one task per batch, so in-batch negatives are homogeneous) scores
 * every query against every candidate of the batch, in the layout of {@link ScoreLoss}, with the loss of the batch's
 * task. The losses are plain Java on embeddings, so the step runs in three passes (Gao et al., "Scaling Deep
 * Contrastive Learning Batch Size under Memory Limited Setup", arXiv:2101.06983, "gradient cache"): (1) embed every
 * text of the batch without gradients, in chunks of at most {@link Builder#chunkTokens} padded tokens; (2) the loss
 * and its gradient with respect to each embedding, {@code dL/de}, from the {@link ScoreLoss}; (3) embed each chunk
 * again under a gradient collector and back-propagate {@code sum(e * dL/de)}, whose gradient with respect to every
 * weight is that chunk's exact share of {@code dL/dweights}. Memory is thus bounded by one chunk's activations
 * whatever the batch size, and the gradients are those of the whole batch (without dropout the two forward passes
 * agree). With {@link Builder#accumulationSteps} {@code > 1} the gradients of that many batches are averaged before
 * AdamW steps (AdamW as PyTorch's: decoupled weight decay, none on biases and LayerNorm parameters; optional
 * clipping of the gradients' global norm, {@link Builder#maxGradNorm}; linear warm-up then linear decay of the
 * learning rate, as HuggingFace's default schedule).
 *
 * <p><b>Epochs.</b> Each epoch draws new batches ({@link Batches#epoch}); after it the validation examples' mean loss
 * (forward only) decides early stopping, and the best epoch's weights (the untrained ones included) are kept and are
 * what {@link #export} writes.
 *
 * <p><b>Checkpoints.</b> With {@link Builder#checkpoint(Path)}, the run's state (weights, AdamW's moments, the position
 * in the epoch, early stopping's state and best weights) is written atomically after every epoch, every
 * {@link Builder#checkpointEverySteps} optimiser steps and at the end. {@code fit} resumes from an existing checkpoint
 * of the same run (the same settings and examples, else {@link IllegalArgumentException}) at the step where it stopped
 * and goes on as the uninterrupted run would; a finished run's checkpoint makes {@code fit} load its weights and return
 * its result at once. Delete the file to train afresh.
 *
 * <p><b>Engine.</b> DJL's PyTorch engine, offline: the native library comes from the
 * {@code ai.djl.pytorch:pytorch-native-cpu} jar on the classpath (or a CUDA one, see the README), never downloaded
 * ({@code ai.djl.offline} is set to true unless the JVM sets it).
 *
 * <p>Not thread-safe: one {@code fit}, {@code encode} or {@code export} at a time. Holds native memory (the weights,
 * the tokenizer): {@link #close()} it.
 */
public final class EncoderFineTuner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EncoderFineTuner.class);

  private final ModelSource source;
  private final OnnxFile onnx;
  private final BertWeights initial;
  private final Tokens tokens;
  private final BertModel model;
  private final ScoreLoss defaultLoss;
  private final Map<Task, ScoreLoss> taskLosses;
  private final double learningRate;
  private final double warmupFraction;
  private final double weightDecay;
  private final double maxGradNorm;
  private final int epochs;
  private final int patience;
  private final int batchSize;
  private final int accumulationSteps;
  private final int queryMaxTokens;
  private final int keyMaxTokens;
  private final int chunkTokens;
  private final long seed;
  private final TrainingListener listener;
  private final Path checkpoint;
  private final int checkpointEverySteps;
  private final AdamWOptimizer optimizer;

  private EncoderFineTuner(Builder b) {
    this.source = b.preset != null ? ModelSource.of(b.preset) : ModelSource.of(b.directory, b.family);
    this.defaultLoss = b.defaultLoss;
    this.taskLosses = new EnumMap<>(b.taskLosses);
    this.learningRate = b.learningRate;
    this.warmupFraction = b.warmupFraction;
    this.weightDecay = b.weightDecay;
    this.maxGradNorm = b.maxGradNorm;
    this.epochs = b.epochs;
    this.patience = b.patience;
    this.batchSize = b.batchSize;
    this.accumulationSteps = b.accumulationSteps;
    this.chunkTokens = b.chunkTokens;
    this.seed = b.seed;
    this.listener = b.listener;
    this.checkpoint = b.checkpoint;
    this.checkpointEverySteps = b.checkpointEverySteps;
    PyTorch.offline();
    this.onnx = OnnxFile.parse(source.onnx(), source.onnxSource());
    int heads = source.heads();
    double eps = BertConfig.eps(source.config());
    BertWeights fromOnnx = BertWeights.fromOnnx(onnx, heads, eps);
    ai.djl.Device device = PyTorch.device(b.device, b.cudaDeviceId);
    BertWeights weights = fromOnnx;
    if (source.safetensors() != null) {
      try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
        weights = BertWeights.fromSafetensors(source.safetensors(), manager, heads, eps).withOnnxNamesOf(fromOnnx);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + source.safetensors() + ": " + e.getMessage(), e);
      }
    }
    this.initial = weights;
    int limit = weights.config().maxPositions();
    this.queryMaxTokens = Math.min(b.queryMaxTokens, limit);
    this.keyMaxTokens = Math.min(b.keyMaxTokens, limit);
    this.tokens = Tokens.load(source.tokenizerJson(), source.onnxSource() + " tokenizer");
    BertModel built = null;
    try {
      built = new BertModel(weights, source.pooling(), device, true);
      this.optimizer = new AdamWOptimizer(built.parameters());
    } catch (RuntimeException e) {
      if (built != null) {
        built.close();
      }
      tokens.close();
      throw e;
    }
    this.model = built;
    LOG.info("Fine-tuning {} on {}: {} layers, dimension {}, {} heads, {} pooling, {} parameters", source.name(),
        device, weights.config().layers(), weights.config().hiddenSize(), heads, source.pooling(),
        weights.tensors().values().stream().mapToLong(t -> t.values().length).sum());
  }

  /** A builder; choose the model with {@link Builder#preset} or {@link Builder#modelDirectory}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The model's name: the preset's, or the model directory's. */
  public String modelName() {
    return source.name();
  }

  /** The embedding dimension {@code d}. */
  public int dimension() {
    return model.config().hiddenSize();
  }

  /** The model's instructions (the query and key prefix of each task). */
  public InstructionSet instructions() {
    return source.instructions();
  }

  /** The model's pooling. */
  public Pooling pooling() {
    return source.pooling();
  }

  /** The loss for batches of {@code task}. */
  public ScoreLoss lossFor(Task task) {
    return taskLosses.getOrDefault(task, defaultLoss);
  }

  /**
   * Embeds texts with the DJL forward pass and the current weights, as the SDK's
   * {@code Encoder.encode(texts, instruction, maxTokens)} does with ONNX Runtime (the same tokenization and pooling).
   *
   * @param instruction prepended to every text; {@code ""} for none
   * @param maxTokens 2 to the model's limit, in tokens (special tokens and the instruction included)
   * @return {@code [texts.size()][dimension()]}, each L2-normalised
   * @throws IllegalArgumentException if {@code maxTokens} is out of range or a text is null
   */
  public float[][] encode(List<String> texts, String instruction, int maxTokens) {
    Objects.requireNonNull(instruction, "instruction is null; use \"\" for none");
    if (maxTokens < 2 || maxTokens > model.config().maxPositions()) {
      throw new IllegalArgumentException("maxTokens is " + maxTokens + "; allowed: 2 to "
          + model.config().maxPositions() + " (the model's limit)");
    }
    for (int i = 0; i < texts.size(); i++) {
      if (texts.get(i) == null) {
        throw new IllegalArgumentException("text[" + i + "] is null");
      }
    }
    return embed(tokens.encode(texts, instruction, maxTokens));
  }

  /**
   * Fine-tunes the encoder (see the class comment): epochs of homogeneous batches, early stopping on the validation
   * examples' loss, and the best epoch's weights kept; with a checkpoint, resumes its run.
   *
   * @param train at least one example; every example (train and validation) needs the same number of negatives (the
   *     loss scores {@code n} candidates per query: the first positive, then the negatives) and the labels its task's
   *     loss needs (teacher scores for the distillation losses)
   * @param validation may be empty (then every epoch counts as an improvement and the last one's weights are kept)
   * @return the history and the best epoch
   * @throws IllegalArgumentException naming the example whose shape or labels do not fit, or the checkpoint when it
   *     is damaged, does not fit the model, or was written by a run with other settings or examples
   * @throws UncheckedIOException if the checkpoint cannot be read or written
   */
  public FineTuneResult fit(List<TrainingExample> train, List<TrainingExample> validation) {
    Objects.requireNonNull(train, "train");
    Objects.requireNonNull(validation, "validation");
    if (train.isEmpty()) {
      throw new IllegalArgumentException("no training examples");
    }
    int negatives = train.get(0).negatives().size();
    checkExamples(train, "train", negatives);
    checkExamples(validation, "validation", negatives);
    long start = System.nanoTime();
    Batches batching = new Batches(batchSize, Batches.LastBatch.KEEP, seed);
    List<Batches.Batch> validationBatches = validation.isEmpty() ? List.of() : batching.epoch(validation, 0);
    int perEpoch = batching.batchesPerEpoch(train);
    long totalSteps = (long) epochs * ((perEpoch + accumulationSteps - 1) / accumulationSteps);
    long warmup = Math.round(warmupFraction * totalSteps);
    FineTuneState state = startOrResume(configuration(), fingerprint(train, validation));
    if (state.finished) {
      LOG.info("Checkpoint {} holds a finished run ({} epochs); returning its result", checkpoint,
          state.history.size());
      return result(state, start);
    }
    if (state.steps == 0 && state.batchInEpoch == 0 && state.epoch == 0) {
      state.baseline = validationBatches.isEmpty() ? Double.NaN : meanLoss(validationBatches);
      state.best = state.baseline;
      if (!Double.isNaN(state.baseline)) {
        LOG.info(String.format(Locale.ROOT, "untrained model: validation loss %.5f", state.baseline));
      }
    }
    while (state.epoch < epochs) {
      int epoch = state.epoch;
      List<Batches.Batch> batches = batching.epoch(train, epoch);
      for (int s = state.batchInEpoch; s < batches.size(); s++) {
        Batches.Batch batch = batches.get(s);
        boolean last = s == batches.size() - 1;
        int inStep = Math.min(accumulationSteps, batches.size() - (s / accumulationSteps) * accumulationSteps);
        double loss = accumulateGradient(batch, 1.0 / inStep);
        state.batchesSeen++;
        state.epochLossSum += loss * batch.size();
        state.epochQueries += batch.size();
        if ((s + 1) % accumulationSteps == 0 || last) {
          state.steps++;
          optimizer.step(model.parameters(), state.steps, learningRate(state.steps, totalSteps, warmup),
              weightDecay, maxGradNorm);
          state.batchInEpoch = s + 1;
          if (checkpoint != null && checkpointEverySteps > 0 && state.steps % checkpointEverySteps == 0 && !last) {
            save(state, start);
          }
        }
        listener.onStep(epoch, s, loss);
      }
      double validationLoss = validationBatches.isEmpty() ? Double.NaN : meanLoss(validationBatches);
      boolean improved = Double.isNaN(validationLoss) || Double.isNaN(state.best) || validationLoss < state.best;
      if (improved) {
        state.best = validationLoss;
        state.bestEpoch = epoch;
        state.bestWeights = epoch == epochs - 1 ? null : model.values(); // the last epoch's are the model's own
        state.sinceImprovement = 0;
      } else {
        state.sinceImprovement++;
      }
      EpochStats stats = new EpochStats(epoch, state.epochLossSum / state.epochQueries, validationLoss,
          validationLoss, improved);
      state.history.add(stats);
      LOG.info(String.format(Locale.ROOT, "epoch %d: train loss %.5f, validation loss %.5f%s (%d steps, %.0f s)",
          epoch, stats.trainLoss(), validationLoss, improved ? " (best)" : "", state.steps, seconds(state, start)));
      state.epoch++;
      state.batchInEpoch = 0;
      state.epochLossSum = 0;
      state.epochQueries = 0;
      boolean stop = patience > 0 && state.sinceImprovement >= patience;
      state.stoppedEarly = stop && state.epoch < epochs;
      if (!stop && state.epoch < epochs && checkpoint != null) {
        save(state, start);
      }
      listener.onEpoch(stats);
      if (stop) {
        break;
      }
    }
    if (state.bestEpoch != state.history.size() - 1) {
      // an earlier epoch (or the untrained model) was best: go back to it
      model.load(state.bestEpoch < 0 ? initial.tensors().entrySet().stream().collect(
          LinkedHashMap::new, (m, e) -> m.put(e.getKey(), e.getValue().values()), Map::putAll) : state.bestWeights);
      LOG.info("Kept the weights of {}", state.bestEpoch < 0 ? "the untrained model" : "epoch " + state.bestEpoch);
    }
    state.bestWeights = null; // the model's own now
    state.finished = true;
    if (checkpoint != null) {
      save(state, start);
    }
    return result(state, start);
  }

  private FineTuneResult result(FineTuneState state, long start) {
    return new FineTuneResult(state.history, state.bestEpoch, state.baseline, state.stoppedEarly, state.steps,
        state.batchesSeen, seconds(state, start));
  }

  private static double seconds(FineTuneState state, long start) {
    return state.secondsBefore + (System.nanoTime() - start) / 1e9;
  }

  /**
   * A fresh state, or the checkpoint's: then its weights and moments are loaded into the model and the optimiser.
   *
   * @throws IllegalArgumentException if the checkpoint is damaged or belongs to another run
   * @throws UncheckedIOException if it cannot be read
   */
  private FineTuneState startOrResume(String configuration, long fingerprint) {
    if (checkpoint == null || !Files.exists(checkpoint)) {
      optimizer.reset(); // a fresh run: no moments from an earlier fit on these weights
      return new FineTuneState(configuration, fingerprint);
    }
    FineTuneState.Tensors[] tensors = new FineTuneState.Tensors[1];
    FineTuneState state;
    try {
      state = FineTuneState.load(checkpoint, tensors);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read fine-tuning checkpoint " + checkpoint + ": " + e.getMessage(), e);
    }
    RunIdentity.requireSameRun(checkpoint, "fine-tuning", "fine-tuner", "examples", state.configuration,
        configuration, state.dataFingerprint, fingerprint);
    Map<String, NDArray> parameters = model.parameters();
    FineTuneState.Tensors t = tensors[0];
    for (Map<String, float[]> values : List.of(t.weights(), t.first(), t.second())) {
      for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
        float[] v = values.get(e.getKey());
        if (v == null || v.length != e.getValue().size()) {
          throw FineTuneState.corrupt(checkpoint, "does not fit the model: parameter " + e.getKey() + " has "
              + (v == null ? "no values" : v.length + " values, the model " + e.getValue().size()));
        }
      }
    }
    model.load(t.weights());
    optimizer.first().forEach((name, array) -> array.set(t.first().get(name)));
    optimizer.second().forEach((name, array) -> array.set(t.second().get(name)));
    LOG.info("Resuming from {}: epoch {}, batch {} of the epoch, {} steps in all", checkpoint, state.epoch,
        state.batchInEpoch, state.steps);
    return state;
  }

  private void save(FineTuneState state, long start) {
    try {
      state.save(checkpoint, model.parameters(), optimizer, seconds(state, start));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write fine-tuning checkpoint " + checkpoint + ": " + e.getMessage(), e);
    }
  }

  /** Every setting that changes the trained weights, as text: a checkpoint resumes only the same configuration. */
  private String configuration() {
    String losses = RunIdentity.losses(defaultLoss, taskLosses);
    return String.format(Locale.ROOT, "model=%s, loss=%s, learningRate=%s, warmupFraction=%s, weightDecay=%s,"
        + " epochs=%d, patience=%d, batchSize=%d, accumulationSteps=%d, queryMaxTokens=%d, keyMaxTokens=%d, seed=%d",
        source.name(), losses, learningRate, warmupFraction, weightDecay, epochs, patience, batchSize,
        accumulationSteps, queryMaxTokens, keyMaxTokens, seed)
        // named only when set, so that a checkpoint of a run without clipping still resumes
        + (maxGradNorm > 0 ? ", maxGradNorm=" + maxGradNorm : "");
  }

  /** CRC32C over the examples' tasks, texts and teacher scores, train then validation. */
  private static long fingerprint(List<TrainingExample> train, List<TrainingExample> validation) {
    CRC32C crc = new CRC32C();
    ByteBuffer number = ByteBuffer.allocate(8);
    for (List<TrainingExample> examples : List.of(train, validation)) {
      crc.update(number.clear().putLong(examples.size()).flip());
      for (TrainingExample e : examples) {
        crc.update(e.task().id().getBytes(StandardCharsets.UTF_8));
        for (List<String> texts : List.of(List.of(e.query()), e.positives(), e.negatives())) {
          crc.update(number.clear().putLong(texts.size()).flip());
          for (String text : texts) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            crc.update(number.clear().putLong(bytes.length).flip());
            crc.update(bytes);
          }
        }
        for (double score : e.teacherScores()) {
          crc.update(number.clear().putDouble(score).flip());
        }
      }
    }
    return crc.getValue();
  }

  /**
   * The mean loss over batches of examples with the current weights, each query counted once (forward passes only).
   *
   * @throws IllegalArgumentException as {@link #fit}
   */
  public double meanLoss(List<Batches.Batch> batches) {
    double sum = 0;
    long queries = 0;
    for (Batches.Batch batch : batches) {
      BatchTexts texts = texts(batch);
      float[][] embeddings = embed(texts.ids);
      sum += lossFor(batch.task()).evaluate(scores(embeddings, batch.size(), texts), targets(batch)).value()
          * batch.size();
      queries += batch.size();
    }
    return sum / queries;
  }

  /** The token ids of a batch: its queries, then every example's candidates (first positive, then negatives). */
  private record BatchTexts(long[][] ids, int queries, int candidatesPerQuery) {}

  private BatchTexts texts(Batches.Batch batch) {
    Task task = batch.task();
    List<String> queries = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (TrainingExample e : batch.examples()) {
      queries.add(e.query());
      keys.add(e.positives().get(0));
      keys.addAll(e.negatives());
    }
    long[][] q = tokens.encode(queries, source.instructions().forTask(task).query(), queryMaxTokens);
    long[][] k = tokens.encode(keys, source.instructions().forTask(task).key(), keyMaxTokens);
    long[][] all = Arrays.copyOf(q, q.length + k.length);
    System.arraycopy(k, 0, all, q.length, k.length);
    return new BatchTexts(all, q.length, keys.size() / q.length);
  }

  /** {@code scores[b][j]} = query b's embedding . candidate j's, in {@link ScoreLoss}'s layout. */
  private static double[][] scores(float[][] embeddings, int batch, BatchTexts texts) {
    int columns = embeddings.length - batch;
    double[][] scores = new double[batch][columns];
    for (int b = 0; b < batch; b++) {
      for (int j = 0; j < columns; j++) {
        scores[b][j] = dot(embeddings[b], embeddings[batch + j]);
      }
    }
    return scores;
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  /**
   * The labels of a batch: candidate 0 (the first positive) of each query, and the teacher scores of the first
   * positive and the negatives when every example has them (as {@code BatchEncoder} selects them for the adapter).
   */
  private static Targets targets(Batches.Batch batch) {
    int n = 1 + batch.examples().get(0).negatives().size();
    int[] positives = new int[batch.size()];
    double[][] teacher = new double[batch.size()][];
    boolean allScored = true;
    for (int b = 0; b < batch.size(); b++) {
      TrainingExample e = batch.examples().get(b);
      if (e.teacherScores().isEmpty()) {
        allScored = false;
        continue;
      }
      teacher[b] = new double[n];
      teacher[b][0] = e.teacherScores().get(0);
      for (int k = 1; k < n; k++) {
        teacher[b][k] = e.teacherScores().get(e.positives().size() + k - 1);
      }
    }
    return new Targets(n, positives, allScored ? teacher : null);
  }

  /**
   * The batch's loss; adds {@code scale} times its gradient with respect to every weight to the weights' gradients
   * (the three passes of the class comment).
   */
  double accumulateGradient(Batches.Batch batch, double scale) {
    BatchTexts texts = texts(batch);
    float[][] embeddings = embed(texts.ids);
    int size = batch.size();
    ScoreLoss.Result result = lossFor(batch.task()).evaluate(scores(embeddings, size, texts), targets(batch));
    int d = dimension();
    float[][] gradient = new float[embeddings.length][d];
    double[][] g = result.gradient();
    for (int b = 0; b < size; b++) {
      for (int j = 0; j < g[b].length; j++) {
        double gbj = g[b][j] * scale;
        if (gbj != 0) {
          float[] q = embeddings[b];
          float[] k = embeddings[size + j];
          float[] gq = gradient[b];
          float[] gk = gradient[size + j];
          for (int i = 0; i < d; i++) {
            gq[i] += (float) (gbj * k[i]);
            gk[i] += (float) (gbj * q[i]);
          }
        }
      }
    }
    for (int[] chunk : chunks(texts.ids)) {
      float[] flat = new float[chunk.length * d];
      for (int i = 0; i < chunk.length; i++) {
        System.arraycopy(gradient[chunk[i]], 0, flat, i * d, d);
      }
      try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector();
          NDManager scope = model.newScope()) {
        NDArray e = model.forward(scope, rows(texts.ids, chunk));
        NDArray surrogate = e.mul(scope.create(flat, new Shape(chunk.length, d))).sum();
        collector.backward(surrogate);
      }
    }
    return result.value();
  }

  /**
   * The learning rate of step {@code t} (from 1): a linear warm-up over {@code warmup} steps, then a linear decay to 0
   * at {@code totalSteps} (HuggingFace's {@code get_linear_schedule_with_warmup}).
   */
  private double learningRate(long t, long totalSteps, long warmup) {
    if (t <= warmup) {
      return learningRate * t / Math.max(1, warmup + 1);
    }
    return learningRate * Math.max(0, totalSteps - t + 1) / Math.max(1, totalSteps - warmup);
  }

  private void checkExamples(List<TrainingExample> examples, String name, int negatives) {
    boolean[] checked = new boolean[Task.values().length];
    for (int i = 0; i < examples.size(); i++) {
      TrainingExample e = Objects.requireNonNull(examples.get(i), name + " example " + i + " is null");
      if (e.negatives().size() != negatives) {
        throw new IllegalArgumentException(name + " example " + i + " ('" + e.query() + "') has "
            + e.negatives().size() + " negatives; the first training example has " + negatives + " (every example"
            + " needs the same number: the loss scores the same number of candidates per query)");
      }
      if (!checked[e.task().ordinal()]) {
        checked[e.task().ordinal()] = true;
        Batches.Batch one = new Batches.Batch(e.task(), List.of(e));
        try {
          lossFor(e.task()).evaluate(new double[1][1 + negatives], targets(one));
        } catch (IllegalArgumentException x) {
          throw new IllegalArgumentException(name + " example " + i + " ('" + e.query() + "', " + e.task().id()
              + "): " + x.getMessage(), x);
        }
      }
    }
  }

  /**
   * Writes the current weights into a copy of the model's ONNX file, {@code directory/model.onnx} (the graph and
   * everything else byte for byte as it was, only the initializers' values replaced), with the model's
   * {@code tokenizer.json} (and {@code config.json} when it had one) beside it, each written atomically (a temporary
   * file, fsync, rename). Load it with {@code Encoder.builder().modelDirectory(directory, family)}.
   *
   * @throws IOException if a file cannot be written
   */
  public void export(Path directory) throws IOException {
    Files.createDirectories(directory);
    byte[] bytes = onnx.withFloats(initial.withValues(model.values()).onnxValues());
    AtomicFile.write(directory.resolve("model.onnx"), bytes);
    AtomicFile.write(directory.resolve("tokenizer.json"), source.tokenizerJson());
    if (!source.config().isMissingNode()) {
      AtomicFile.write(directory.resolve("config.json"),
          new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
              .writeValueAsBytes(source.config()));
    }
    LOG.info("Wrote the fine-tuned {} to {}", source.name(), directory.toAbsolutePath().normalize());
  }

  /** Forward passes without gradients, chunk by chunk; rows in input order. */
  private float[][] embed(long[][] ids) {
    float[][] out = new float[ids.length][];
    for (int[] chunk : chunks(ids)) {
      long[][] rows = rows(ids, chunk);
      try (NDManager scope = model.newScope()) {
        float[] flat = model.forward(scope, rows).toFloatArray();
        int d = dimension();
        for (int i = 0; i < chunk.length; i++) {
          out[chunk[i]] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
        }
      }
    }
    return out;
  }

  /**
   * Groups rows into chunks of at most {@link Builder#chunkTokens} padded tokens, by length (like lengths together,
   * so that little is padding). Each chunk lists row indices.
   */
  private List<int[]> chunks(long[][] ids) {
    Integer[] order = new Integer[ids.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Integer.compare(ids[a].length, ids[b].length));
    List<int[]> chunks = new ArrayList<>();
    for (int start = 0, end; start < order.length; start = end) {
      end = start + 1;
      while (end < order.length && (long) (end - start + 1) * ids[order[end]].length <= chunkTokens) {
        end++;
      }
      int[] chunk = new int[end - start];
      for (int i = start; i < end; i++) {
        chunk[i - start] = order[i];
      }
      chunks.add(chunk);
    }
    return chunks;
  }

  private static long[][] rows(long[][] ids, int[] chunk) {
    long[][] rows = new long[chunk.length][];
    for (int i = 0; i < chunk.length; i++) {
      rows[i] = ids[chunk[i]];
    }
    return rows;
  }

  /** The live model, for tests in this package. */
  BertModel model() {
    return model;
  }

  @Override
  public void close() {
    optimizer.close();
    model.close();
    tokens.close();
  }

  /** Builds an {@link EncoderFineTuner}. Not thread-safe. */
  public static final class Builder {
    private ModelPreset preset = ModelPreset.BGE_SMALL_EN_V15;
    private Path directory;
    private ModelFamily family;
    private Device device = Device.CPU;
    private int cudaDeviceId;
    private ScoreLoss defaultLoss = new InfoNceLoss();
    private final Map<Task, ScoreLoss> taskLosses = new EnumMap<>(Task.class);
    private double learningRate = 1e-5;
    private double warmupFraction = 0.1;
    private double weightDecay;
    private double maxGradNorm;
    private int epochs = 1;
    private int patience = 1;
    private int batchSize = 16;
    private int accumulationSteps = 1;
    private int queryMaxTokens = 64;
    private int keyMaxTokens = 256;
    private int chunkTokens = 2048;
    private long seed = 42;
    private TrainingListener listener = new TrainingListener() {};
    private Path checkpoint;
    private int checkpointEverySteps;

    private Builder() {}

    /** An embedded model (default {@link ModelPreset#BGE_SMALL_EN_V15}); only fp32 presets can be fine-tuned. */
    public Builder preset(ModelPreset preset) {
      this.preset = Objects.requireNonNull(preset, "preset");
      this.directory = null;
      return this;
    }

    /**
     * A model directory as HuggingFace Optimum exports it: an fp32 {@code model.onnx} (or {@code onnx/model.onnx})
     * and {@code tokenizer.json}; {@code config.json} gives the number of attention heads; {@code model.safetensors},
     * when present, gives the weights.
     *
     * @param family the model's pooling and instructions
     */
    public Builder modelDirectory(Path directory, ModelFamily family) {
      this.directory = Objects.requireNonNull(directory, "directory");
      this.family = Objects.requireNonNull(family, "family");
      this.preset = null;
      return this;
    }

    /**
     * Where to train (default {@link Device#CPU}). {@link Device#CUDA} needs the PyTorch CUDA native jar on the
     * classpath (see the README) and fails without a GPU; {@link Device#AUTO} takes the GPU when PyTorch sees one.
     */
    public Builder device(Device device) {
      this.device = Objects.requireNonNull(device, "device");
      return this;
    }

    /** Trains on this CUDA device (0 is the first): shorthand for {@code device(Device.CUDA)} with that id. */
    public Builder cudaDevice(int id) {
      if (id < 0) {
        throw new IllegalArgumentException("cudaDevice is " + id + "; must be 0 or more (a CUDA device ordinal)");
      }
      this.cudaDeviceId = id;
      this.device = Device.CUDA;
      return this;
    }

    /** The loss for every task without its own (default {@link InfoNceLoss} with temperature 0.01). */
    public Builder loss(ScoreLoss loss) {
      this.defaultLoss = Objects.requireNonNull(loss, "loss");
      return this;
    }

    /** The loss for batches of {@code task}. */
    public Builder loss(Task task, ScoreLoss loss) {
      taskLosses.put(Objects.requireNonNull(task, "task"), Objects.requireNonNull(loss, "loss"));
      return this;
    }

    /** AdamW's peak learning rate (default 1e-5, LLM-Embedder fine-tunes with 5e-6 at much larger batches). */
    public Builder learningRate(double learningRate) {
      if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
        throw new IllegalArgumentException("learningRate is " + learningRate + "; must be positive and finite");
      }
      this.learningRate = learningRate;
      return this;
    }

    /** The fraction of all optimiser steps over which the learning rate rises linearly from 0 (default 0.1). */
    public Builder warmupFraction(double fraction) {
      if (!(fraction >= 0 && fraction < 1)) {
        throw new IllegalArgumentException("warmupFraction is " + fraction + "; allowed: 0 to below 1");
      }
      this.warmupFraction = fraction;
      return this;
    }

    /** AdamW's decoupled weight decay toward zero, not applied to biases and LayerNorm parameters (default 0). */
    public Builder weightDecay(double weightDecay) {
      if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
        throw new IllegalArgumentException("weightDecay is " + weightDecay + "; must be finite and non-negative");
      }
      this.weightDecay = weightDecay;
      return this;
    }

    /**
     * Clips the gradients of each optimiser step to this global L2 norm before AdamW's update, as PyTorch's
     * {@code clip_grad_norm_} does (HuggingFace's Trainer, which LLM-Embedder's training code builds on, clips to
     * 1.0 by default). Default 0: no clipping, the setting of the figures in the README.
     *
     * @throws IllegalArgumentException if {@code maxNorm} is negative, NaN or infinite
     */
    public Builder maxGradNorm(double maxNorm) {
      if (!(maxNorm >= 0) || !Double.isFinite(maxNorm)) {
        throw new IllegalArgumentException("maxGradNorm is " + maxNorm + "; must be 0 (no clipping) or a positive"
            + " finite norm");
      }
      this.maxGradNorm = maxNorm;
      return this;
    }

    /** The most epochs (default 1). */
    public Builder epochs(int epochs) {
      this.epochs = atLeastOne("epochs", epochs);
      return this;
    }

    /** Epochs without a better validation loss before stopping (default 1; 0 never stops early). */
    public Builder patience(int patience) {
      if (patience < 0) {
        throw new IllegalArgumentException("patience is " + patience + "; must be 0 (off) or more");
      }
      this.patience = patience;
      return this;
    }

    /** Queries per batch, one task per batch (default 16). */
    public Builder batchSize(int batchSize) {
      this.batchSize = atLeastOne("batchSize", batchSize);
      return this;
    }

    /** Batches whose gradients are averaged into one optimiser step (default 1). */
    public Builder accumulationSteps(int steps) {
      this.accumulationSteps = atLeastOne("accumulationSteps", steps);
      return this;
    }

    /** The longest query in training, in tokens with the instruction (default 64; capped at the model's limit). */
    public Builder queryMaxTokens(int tokens) {
      this.queryMaxTokens = atLeast("queryMaxTokens", tokens, 2);
      return this;
    }

    /**
     * The longest key in training, in tokens (default 256, LLM-Embedder's {@code key_max_length}; capped at the
     * model's limit). Evaluation and the exported model still take the model's full length.
     */
    public Builder keyMaxTokens(int tokens) {
      this.keyMaxTokens = atLeast("keyMaxTokens", tokens, 2);
      return this;
    }

    /**
     * Padded tokens per forward pass (rows x longest row, default 2,048): what bounds memory, since the backward
     * pass keeps one chunk's activations. A single text longer than this still runs, alone.
     */
    public Builder chunkTokens(int tokens) {
      this.chunkTokens = atLeastOne("chunkTokens", tokens);
      return this;
    }

    /** Seeds the batches of every epoch (default 42). */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Where to write the run's state, and resume from when it exists (see the class comment): weights, AdamW's moments
     * and the position, about four times the model's fp32 size (530 MB for bge-small-en-v1.5 while an earlier epoch's
     * weights are kept, 400 MB otherwise), which resuming reads into the Java heap once. Default: none, an
     * interrupted run starts again.
     */
    public Builder checkpoint(Path file) {
      this.checkpoint = Objects.requireNonNull(file, "file");
      return this;
    }

    /** Also checkpoint every this many optimiser steps (default 0: after each epoch only). */
    public Builder checkpointEverySteps(int steps) {
      if (steps < 0) {
        throw new IllegalArgumentException("checkpointEverySteps is " + steps + "; must be 0 (epochs only) or more");
      }
      this.checkpointEverySteps = steps;
      return this;
    }

    /** Hears of every optimiser step and epoch. */
    public Builder listener(TrainingListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Reads the model, maps its weights and loads them into DJL.
     *
     * @throws IllegalArgumentException if the model is not an fp32 BERT export (the message names the file and
     *     what is missing), or lacks its number of attention heads
     * @throws IllegalStateException if the PyTorch engine cannot load, or CUDA was asked for and is unavailable
     */
    public EncoderFineTuner build() {
      return new EncoderFineTuner(this);
    }

    private static int atLeastOne(String name, int value) {
      return atLeast(name, value, 1);
    }

    private static int atLeast(String name, int value, int min) {
      if (value < min) {
        throw new IllegalArgumentException(name + " is " + value + "; must be at least " + min);
      }
      return value;
    }
  }
}
