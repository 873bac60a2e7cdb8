package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.internal.RunIdentity;
import dev.llmembedder.trainer.loss.InfoNceLoss;
import dev.llmembedder.trainer.loss.ScoreLoss;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a {@link QueryAdapter} ({@code q' = normalize(W q + b)}, {@code W} starting at the identity, {@code b} at
 * zero) on precomputed embeddings of a frozen encoder, in plain Java: forward pass, a {@link ScoreLoss} on the
 * scores of every query against every candidate of its batch, the analytic backward pass through normalisation and
 * the linear map, and AdamW. Keys are never adapted, so indexes built with the encoder stay valid.
 *
 * <pre>{@code
 * List<TrainingBatch> batches = new BatchEncoder(encoder).encode(homogeneousBatches);
 * AdapterTrainer.Split split = AdapterTrainer.Split.of(batches, 0.1, 42);
 * TrainingResult result = AdapterTrainer.builder().forEncoder(encoder)
 *     .loss(CompositeLoss.of(0.2, new InfoNceLoss(), 1.0, new StabilizedDistillationLoss()))
 *     .checkpoint(Path.of("adapter.ckpt")).build()
 *     .fit(split.train(), split.validation());
 * result.adapter().save(Path.of("adapter.bin"));
 * }</pre>
 *
 * <p><b>Loop.</b> Each epoch trains on every batch once, in an order shuffled from the seed and the epoch number (the
 * batches themselves are kept as given: homogeneous, one task each, so in-batch negatives stay within a task). After
 * each epoch the validation batches' mean loss (or the {@link Builder#evaluator evaluator}'s score) decides early
 * stopping: training stops when it has not improved for {@link Builder#patience patience} epochs, and the result is
 * the best epoch's adapter. The untrained (identity) adapter is measured first and counts as a candidate: when no
 * epoch beats it, the result is the identity ({@link TrainingResult#bestEpoch()} {@code -1}).
 *
 * <p><b>Reproducibility.</b> The same settings, seed and data give bit-identical weights: the loop is single-threaded
 * with a fixed order of floating-point operations, and uses {@link StrictMath} for every transcendental function.
 *
 * <p><b>Checkpoints.</b> With {@link Builder#checkpoint(Path)}, the full training state (weights, Adam's moments,
 * position in the epoch, early-stopping state) is written atomically every {@link Builder#checkpointEverySteps} steps
 * and after every epoch. {@code fit} resumes from an existing checkpoint of the same run (same settings and data,
 * else it refuses naming what differs), and the resumed run ends with exactly the weights of an uninterrupted one. A
 * finished run's checkpoint makes {@code fit} return its result at once; delete the file to train afresh.
 *
 * <p>Not thread-safe: one {@code fit} at a time per trainer.
 */
public final class AdapterTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(AdapterTrainer.class);

  private final String modelName;
  private final int expectedDimension;
  private final boolean bias;
  private final ScoreLoss defaultLoss;
  private final Map<Task, ScoreLoss> taskLosses;
  private final double learningRate;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final int epochs;
  private final int patience;
  private final long seed;
  private final AdapterEvaluator evaluator;
  private final Path checkpoint;
  private final int checkpointEverySteps;
  private final TrainingListener listener;

  private AdapterTrainer(Builder b) {
    this.modelName = b.modelName;
    this.expectedDimension = b.expectedDimension;
    this.bias = b.bias;
    this.defaultLoss = b.defaultLoss;
    this.taskLosses = new EnumMap<>(b.taskLosses);
    this.learningRate = b.learningRate;
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.epsilon = b.epsilon;
    this.weightDecay = b.weightDecay;
    this.epochs = b.epochs;
    this.patience = b.patience;
    this.seed = b.seed;
    this.evaluator = b.evaluator;
    this.checkpoint = b.checkpoint;
    this.checkpointEverySteps = b.checkpointEverySteps;
    this.listener = b.listener;
  }

  /** A builder; {@link Builder#forEncoder} or {@link Builder#modelName} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The loss for batches of {@code task}. */
  public ScoreLoss lossFor(Task task) {
    return taskLosses.getOrDefault(task, defaultLoss);
  }

  /**
   * Trains an adapter (or resumes the checkpoint's run).
   *
   * @param train at least one batch, all of one dimension
   * @param validation may be empty (then, without an evaluator, no early stopping and the last adapter is the result)
   * @return the best adapter and the history
   * @throws IllegalArgumentException if there is no training batch, dimensions differ (from each other or the
   *     encoder's), a batch lacks the labels its task's loss needs, or the checkpoint is damaged or belongs to another
   *     run (the message names the file and what differs)
   * @throws UncheckedIOException if the checkpoint cannot be read or written
   */
  public TrainingResult fit(List<TrainingBatch> train, List<TrainingBatch> validation) {
    Objects.requireNonNull(train, "train");
    Objects.requireNonNull(validation, "validation");
    if (train.isEmpty()) {
      throw new IllegalArgumentException("no training batches");
    }
    int d = train.get(0).dimension();
    if (expectedDimension > 0 && d != expectedDimension) {
      throw new IllegalArgumentException("training batches have dimension " + d + "; the encoder " + modelName
          + " has " + expectedDimension);
    }
    checkDimensions(train, "train", d);
    checkDimensions(validation, "validation", d);
    checkLabels(train, "train");
    checkLabels(validation, "validation");
    String configuration = configuration(d);
    long fingerprint = fingerprint(train, validation);
    TrainingState state = startOrResume(configuration, fingerprint, d);
    if (state.finished) {
      LOG.info("Checkpoint {} holds a finished run ({} epochs); returning its result", checkpoint,
          state.history.size());
      return result(state);
    }
    AdapterModel model = state.model;
    AdapterModel.Workspace ws = new AdapterModel.Workspace();
    if (state.step == 0 && state.epoch == 0) {
      baseline(state, validation, ws);
      if (checkpoint != null) {
        save(state);
      }
    }
    double[] weightGradient = new double[d * d];
    double[] biasGradient = model.bias != null ? new double[d] : null;
    while (state.epoch < epochs) {
      int[] order = epochOrder(train.size(), state.epoch);
      for (int s = state.stepInEpoch; s < order.length; s++) {
        TrainingBatch batch = train.get(order[s]);
        Arrays.fill(weightGradient, 0);
        if (biasGradient != null) {
          Arrays.fill(biasGradient, 0);
        }
        double loss = model.lossAndGradient(batch, lossFor(batch.task()), ws, weightGradient, biasGradient);
        state.step++;
        AdamW.step(model.weights, weightGradient, state.weightM, state.weightV, state.step, learningRate, beta1,
            beta2, epsilon, weightDecay, d);
        if (biasGradient != null) {
          AdamW.step(model.bias, biasGradient, state.biasM, state.biasV, state.step, learningRate, beta1, beta2,
              epsilon, 0, 0);
        }
        state.stepInEpoch = s + 1;
        state.epochLossSum += loss * batch.size();
        state.epochQueries += batch.size();
        if (checkpoint != null && checkpointEverySteps > 0 && state.step % checkpointEverySteps == 0) {
          save(state);
        }
        listener.onStep(state.epoch, s, loss);
      }
      EpochStats stats = endEpoch(state, validation, ws);
      if (checkpoint != null) {
        save(state);
      }
      listener.onEpoch(stats);
      if (state.finished) {
        break;
      }
    }
    return result(state);
  }

  /** The metric of the untrained (identity) adapter: an epoch must beat it to become the result. */
  private void baseline(TrainingState state, List<TrainingBatch> validation, AdapterModel.Workspace ws) {
    AdapterModel model = state.model;
    double metric = evaluator != null ? evaluator.evaluate(model.toAdapter(modelName))
        : validation.isEmpty() ? Double.NaN : meanLoss(model, validation, ws);
    if (evaluator != null && !Double.isFinite(metric)) {
      throw new IllegalStateException("the evaluator returned " + metric + " for the untrained adapter; it must"
          + " return a finite score");
    }
    state.baselineMetric = metric;
    if (!Double.isNaN(metric)) {
      state.bestMetric = metric;
      state.bestWeights = model.weights.clone();
      state.bestBias = model.bias != null ? model.bias.clone() : null;
      LOG.info(String.format(Locale.ROOT, "untrained adapter: %s %.5f", evaluator != null ? "metric"
          : "validation loss", metric));
    }
  }

  private EpochStats endEpoch(TrainingState state, List<TrainingBatch> validation, AdapterModel.Workspace ws) {
    AdapterModel model = state.model;
    double trainLoss = state.epochLossSum / state.epochQueries;
    double validationLoss = validation.isEmpty() ? Double.NaN : meanLoss(model, validation, ws);
    double metric = evaluator != null ? evaluator.evaluate(model.toAdapter(modelName)) : validationLoss;
    if (evaluator != null && !Double.isFinite(metric)) {
      throw new IllegalStateException("the evaluator returned " + metric + " after epoch " + state.epoch
          + "; it must return a finite score");
    }
    boolean improved = Double.isNaN(metric) || Double.isNaN(state.bestMetric)
        || (evaluator != null ? metric > state.bestMetric : metric < state.bestMetric);
    if (improved) {
      state.bestMetric = metric;
      state.bestEpoch = state.epoch;
      state.bestWeights = model.weights.clone();
      state.bestBias = model.bias != null ? model.bias.clone() : null;
      state.epochsSinceImprovement = 0;
    } else {
      state.epochsSinceImprovement++;
    }
    EpochStats stats = new EpochStats(state.epoch, trainLoss, validationLoss, metric, improved);
    state.history.add(stats);
    LOG.info(String.format(Locale.ROOT, "epoch %d: train loss %.5f, validation loss %.5f%s%s", state.epoch,
        trainLoss, validationLoss, evaluator != null ? String.format(Locale.ROOT, ", metric %.5f", metric) : "",
        improved ? " (best)" : ""));
    state.epoch++;
    state.stepInEpoch = 0;
    state.epochLossSum = 0;
    state.epochQueries = 0;
    if (patience > 0 && state.epochsSinceImprovement >= patience) {
      state.stoppedEarly = true;
      state.finished = true;
      LOG.info("Early stop after epoch {}: no improvement for {} epochs; best epoch {}", stats.epoch(), patience,
          state.bestEpoch);
    } else if (state.epoch >= epochs) {
      state.finished = true;
    }
    return stats;
  }

  /**
   * The mean loss of {@code adapter} over {@code batches}, each query counted once, with each task's loss; a way to
   * compare adapters (the identity included) on held-out batches.
   */
  public double meanLoss(QueryAdapter adapter, List<TrainingBatch> batches) {
    int d = adapter.dimension();
    float[][] w = adapter.weights();
    double[] weights = new double[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        weights[i * d + j] = w[i][j];
      }
    }
    double[] b = null;
    if (adapter.hasBias()) {
      b = new double[d];
      float[] fb = adapter.bias();
      for (int i = 0; i < d; i++) {
        b[i] = fb[i];
      }
    }
    checkDimensions(batches, "batches", d);
    return meanLoss(new AdapterModel(d, weights, b), batches, new AdapterModel.Workspace());
  }

  private double meanLoss(AdapterModel model, List<TrainingBatch> batches, AdapterModel.Workspace ws) {
    double sum = 0;
    long queries = 0;
    for (TrainingBatch batch : batches) {
      sum += model.loss(batch, lossFor(batch.task()), ws) * batch.size();
      queries += batch.size();
    }
    return sum / queries;
  }

  private TrainingResult result(TrainingState state) {
    AdapterModel model = state.model;
    AdapterModel best = state.bestWeights != null
        ? new AdapterModel(model.dimension, state.bestWeights, state.bestBias)
        : model;
    return new TrainingResult(best.toAdapter(modelName), state.history, state.bestEpoch, state.baselineMetric,
        state.stoppedEarly, state.step);
  }

  private TrainingState startOrResume(String configuration, long fingerprint, int d) {
    if (checkpoint != null && Files.exists(checkpoint)) {
      TrainingState state;
      try {
        state = TrainingState.load(checkpoint);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read training checkpoint " + checkpoint + ": " + e.getMessage(), e);
      }
      RunIdentity.requireSameRun(checkpoint, "training", "trainer", "batches", state.configuration, configuration,
          state.dataFingerprint, fingerprint);
      LOG.info("Resuming from {}: epoch {}, step {} of the epoch, {} steps in all", checkpoint, state.epoch,
          state.stepInEpoch, state.step);
      return state;
    }
    return new TrainingState(configuration, fingerprint, AdapterModel.identity(d, bias));
  }

  private void save(TrainingState state) {
    try {
      state.save(checkpoint);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write training checkpoint " + checkpoint + ": " + e.getMessage(), e);
    }
  }

  /** The batch order of {@code epoch}: a Fisher-Yates shuffle driven by java.util.Random (a specified generator). */
  int[] epochOrder(int batches, int epoch) {
    long mixed = seed + 0x9E3779B97F4A7C15L * (epoch + 1L);
    mixed = (mixed ^ (mixed >>> 30)) * 0xBF58476D1CE4E5B9L;
    mixed = (mixed ^ (mixed >>> 27)) * 0x94D049BB133111EBL;
    Random random = new Random(mixed ^ (mixed >>> 31));
    int[] order = new int[batches];
    for (int i = 0; i < batches; i++) {
      order[i] = i;
    }
    for (int i = batches - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  /** Every setting that changes the trained weights, as text: a checkpoint resumes only the same configuration. */
  private String configuration(int d) {
    String losses = RunIdentity.losses(defaultLoss, taskLosses);
    return String.format(Locale.ROOT, "model=%s, dimension=%d, bias=%b, loss=%s, learningRate=%s, betas=(%s, %s),"
        + " epsilon=%s, weightDecay=%s, epochs=%d, patience=%d, seed=%d, evaluator=%b", modelName, d, bias, losses,
        learningRate, beta1, beta2, epsilon, weightDecay, epochs, patience, seed, evaluator != null);
  }

  /** CRC32C over the batches' shapes, tasks, labels and embeddings, train then validation. */
  static long fingerprint(List<TrainingBatch> train, List<TrainingBatch> validation) {
    CRC32C crc = new CRC32C();
    ByteBuffer header = ByteBuffer.allocate(16);
    header.putLong(train.size()).putLong(validation.size()).flip();
    crc.update(header);
    int d = train.get(0).dimension();
    ByteBuffer floats = ByteBuffer.allocate(4 * d);
    ByteBuffer numbers = ByteBuffer.allocate(8 * 64);
    for (List<TrainingBatch> list : List.of(train, validation)) {
      for (TrainingBatch batch : list) {
        numbers.clear();
        numbers.putInt(batch.task().ordinal()).putInt(batch.size()).putInt(batch.candidatesPerQuery()).flip();
        crc.update(numbers);
        for (EmbeddedExample e : batch.examples()) {
          update(crc, floats, e.query());
          numbers.clear();
          numbers.putInt(e.positive()).putInt(e.teacherScores() == null ? -1 : e.teacherScores().length).flip();
          crc.update(numbers);
          if (e.teacherScores() != null) {
            ByteBuffer scores = ByteBuffer.allocate(8 * e.teacherScores().length);
            scores.asDoubleBuffer().put(e.teacherScores());
            crc.update(scores);
          }
          for (float[] c : e.candidates()) {
            update(crc, floats, c);
          }
        }
      }
    }
    return crc.getValue();
  }

  private static void update(CRC32C crc, ByteBuffer buffer, float[] values) {
    buffer.clear();
    buffer.asFloatBuffer().put(values);
    buffer.limit(4 * values.length);
    crc.update(buffer);
  }

  /** Runs each batch's loss on zero scores, so that a batch without the labels its loss needs fails before training. */
  private void checkLabels(List<TrainingBatch> batches, String name) {
    for (int i = 0; i < batches.size(); i++) {
      TrainingBatch batch = batches.get(i);
      int columns = batch.size() * batch.candidatesPerQuery();
      try {
        lossFor(batch.task()).accumulate(new double[batch.size()][columns], batch.targets(), 0.0,
            new double[batch.size()][columns]);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(name + " batch " + i + " (" + batch.task().id() + "): " + e.getMessage(),
            e);
      }
    }
  }

  private static void checkDimensions(List<TrainingBatch> batches, String name, int d) {
    for (int i = 0; i < batches.size(); i++) {
      if (batches.get(i).dimension() != d) {
        throw new IllegalArgumentException(name + " batch " + i + " has dimension " + batches.get(i).dimension()
            + "; the first training batch has " + d);
      }
    }
  }

  /**
   * A seeded split of batches into training and validation (whole batches, so each stays homogeneous).
   *
   * @param train the batches to train on
   * @param validation the held-out batches
   */
  public record Split(List<TrainingBatch> train, List<TrainingBatch> validation) {
    public Split {
      train = List.copyOf(train);
      validation = List.copyOf(validation);
    }

    /**
     * Holds out {@code round(fraction * batches.size())} batches (at least one when {@code fraction > 0} and there are
     * two or more), chosen by a seeded shuffle; both parts keep the input order.
     *
     * @param fraction 0 (no validation) to below 1
     * @throws IllegalArgumentException if {@code fraction} is outside [0, 1)
     */
    public static Split of(List<TrainingBatch> batches, double fraction, long seed) {
      if (!(fraction >= 0 && fraction < 1)) {
        throw new IllegalArgumentException("validation fraction is " + fraction + "; allowed: 0 to below 1");
      }
      int n = batches.size();
      int held = (int) Math.round(fraction * n);
      if (fraction > 0 && held == 0 && n >= 2) {
        held = 1;
      }
      held = Math.min(held, n - 1);
      int[] order = new int[n];
      for (int i = 0; i < n; i++) {
        order[i] = i;
      }
      Random random = new Random(seed);
      for (int i = n - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      boolean[] isValidation = new boolean[n];
      for (int i = 0; i < held; i++) {
        isValidation[order[i]] = true;
      }
      List<TrainingBatch> t = new ArrayList<>();
      List<TrainingBatch> v = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        (isValidation[i] ? v : t).add(batches.get(i));
      }
      return new Split(t, v);
    }
  }

  /** Builds an {@link AdapterTrainer}. Not thread-safe. */
  public static final class Builder {
    private String modelName;
    private int expectedDimension;
    private boolean bias = true;
    private ScoreLoss defaultLoss = new InfoNceLoss();
    private final Map<Task, ScoreLoss> taskLosses = new EnumMap<>(Task.class);
    private double learningRate = 1e-3;
    private double beta1 = 0.9;
    private double beta2 = 0.999;
    private double epsilon = 1e-8;
    private double weightDecay;
    private int epochs = 10;
    private int patience = 3;
    private long seed = 42;
    private AdapterEvaluator evaluator;
    private Path checkpoint;
    private int checkpointEverySteps;
    private TrainingListener listener = new TrainingListener() {};

    private Builder() {}

    /** The adapter is for this encoder: its model name, and its dimension checked against the batches. */
    public Builder forEncoder(Encoder encoder) {
      this.modelName = encoder.modelName();
      this.expectedDimension = encoder.dimension();
      return this;
    }

    /** The model name written into the adapter (the encoder's {@link Encoder#modelName()}). */
    public Builder modelName(String modelName) {
      if (modelName == null || modelName.isBlank()) {
        throw new IllegalArgumentException("modelName is " + (modelName == null ? "null" : "blank"));
      }
      this.modelName = modelName;
      this.expectedDimension = 0;
      return this;
    }

    /** Whether the adapter has a bias {@code b} (default true). */
    public Builder bias(boolean bias) {
      this.bias = bias;
      return this;
    }

    /** The loss for every task without its own (default {@link InfoNceLoss} with temperature 0.01). */
    public Builder loss(ScoreLoss loss) {
      this.defaultLoss = Objects.requireNonNull(loss, "loss");
      return this;
    }

    /** The loss for batches of {@code task} (LLM-Embedder configures losses per task). */
    public Builder loss(Task task, ScoreLoss loss) {
      taskLosses.put(Objects.requireNonNull(task, "task"), Objects.requireNonNull(loss, "loss"));
      return this;
    }

    /** Adam's learning rate (default 1e-3). */
    public Builder learningRate(double learningRate) {
      this.learningRate = positive("learningRate", learningRate);
      return this;
    }

    /** Adam's decay rates of the moment estimates (default 0.9, 0.999), each in [0, 1). */
    public Builder betas(double beta1, double beta2) {
      for (double beta : new double[] {beta1, beta2}) {
        if (!(beta >= 0 && beta < 1)) {
          throw new IllegalArgumentException("beta is " + beta + "; allowed: 0 to below 1");
        }
      }
      this.beta1 = beta1;
      this.beta2 = beta2;
      return this;
    }

    /** Adam's epsilon (default 1e-8). */
    public Builder epsilon(double epsilon) {
      this.epsilon = positive("epsilon", epsilon);
      return this;
    }

    /**
     * Decoupled (AdamW) weight decay per step, {@code W -= learningRate * weightDecay * (W - I)} (default 0: none).
     * It pulls {@code W} toward the identity, not zero, so it keeps the adapter near the unadapted encoder; the bias
     * is not decayed.
     */
    public Builder weightDecay(double weightDecay) {
      if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
        throw new IllegalArgumentException("weightDecay is " + weightDecay + "; must be finite and non-negative");
      }
      this.weightDecay = weightDecay;
      return this;
    }

    /** The most epochs (default 10). */
    public Builder epochs(int epochs) {
      if (epochs < 1) {
        throw new IllegalArgumentException("epochs is " + epochs + "; must be at least 1");
      }
      this.epochs = epochs;
      return this;
    }

    /** Epochs without improvement before stopping (default 3; 0 never stops early but still keeps the best). */
    public Builder patience(int patience) {
      if (patience < 0) {
        throw new IllegalArgumentException("patience is " + patience + "; must be 0 (off) or more");
      }
      this.patience = patience;
      return this;
    }

    /** Seeds the batch order of every epoch (default 42). */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Early stopping on this score (higher is better) instead of the validation loss. */
    public Builder evaluator(AdapterEvaluator evaluator) {
      this.evaluator = Objects.requireNonNull(evaluator, "evaluator");
      return this;
    }

    /** Where to write the training state, and resume from when it exists (see the class comment). */
    public Builder checkpoint(Path file) {
      this.checkpoint = Objects.requireNonNull(file, "file");
      return this;
    }

    /** Also checkpoint every this many steps (default 0: after each epoch only). */
    public Builder checkpointEverySteps(int steps) {
      if (steps < 0) {
        throw new IllegalArgumentException("checkpointEverySteps is " + steps + "; must be 0 (epochs only) or more");
      }
      this.checkpointEverySteps = steps;
      return this;
    }

    /** Hears of every step and epoch. */
    public Builder listener(TrainingListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /** @throws IllegalStateException if neither {@link #forEncoder} nor {@link #modelName} was called */
    public AdapterTrainer build() {
      if (modelName == null) {
        throw new IllegalStateException("the adapter's model is unknown: call forEncoder(encoder) or modelName(...)");
      }
      return new AdapterTrainer(this);
    }

    private static double positive(String name, double value) {
      if (!(value > 0) || !Double.isFinite(value)) {
        throw new IllegalArgumentException(name + " is " + value + "; must be positive and finite");
      }
      return value;
    }
  }
}
