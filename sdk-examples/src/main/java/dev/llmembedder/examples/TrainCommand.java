package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Device;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.KnowledgeEvaluation;
import dev.llmembedder.trainer.data.Batches;
import dev.llmembedder.trainer.data.TrainingData;
import dev.llmembedder.trainer.data.TrainingExample;
import dev.llmembedder.trainer.finetune.EncoderFineTuner;
import dev.llmembedder.trainer.finetune.FineTuneResult;
import dev.llmembedder.trainer.loss.CompositeLoss;
import dev.llmembedder.trainer.loss.InfoNceLoss;
import dev.llmembedder.trainer.loss.KlDistillationLoss;
import dev.llmembedder.trainer.loss.ScoreLoss;
import dev.llmembedder.trainer.loss.StabilizedDistillationLoss;
import dev.llmembedder.trainer.train.AdapterTrainer;
import dev.llmembedder.trainer.train.BatchEncoder;
import dev.llmembedder.trainer.train.EpochStats;
import dev.llmembedder.trainer.train.TrainingBatch;
import dev.llmembedder.trainer.train.TrainingListener;
import dev.llmembedder.trainer.train.TrainingResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code train}: trains on LLM-Embedder training rows. {@code --mode adapter} (the default) trains a query adapter
 * with the frozen embedded model and saves it for {@code LlmEmbedder.builder().queryAdapter(path)}; keys are never
 * adapted, so existing indexes stay valid. {@code --mode full} fine-tunes the encoder's own weights
 * ({@link EncoderFineTuner}) and writes a model directory (ONNX + tokenizer) for
 * {@code LlmEmbedder.builder().modelDirectory(dir, family)}; indexes must then be rebuilt with it.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train on training rows. --mode adapter: a query adapter (q' = normalize(W q + b)) with the model"
        + " frozen, for LlmEmbedder.builder().queryAdapter(path); indexes built with the model stay valid. --mode full:"
        + " fine-tune all the encoder's weights and write a model directory (model.onnx, tokenizer.json) for"
        + " LlmEmbedder.builder().modelDirectory(dir, family); re-index with it.")
final class TrainCommand implements Callable<Integer> {
  /** What {@code --mode} trains. */
  enum Mode {
    /** A query adapter on the frozen encoder. */
    adapter,
    /** Every weight of the encoder (DJL PyTorch), exported to ONNX. */
    full
  }

  /** The losses {@code --loss} offers. */
  enum LossKind {
    /** InfoNCE on the positive against the other candidates and in-batch keys; needs no teacher scores. */
    contrastive,
    /** LLM-Embedder's stabilized distillation on the teacher scores. */
    stabilized,
    /** KL divergence to the teacher's softmax. */
    kl,
    /** 0.2 x contrastive + 1.0 x stabilized, as LLM-Embedder combines them. */
    composite
  }

  @Mixin ModelOptions model;

  @Option(names = "--data", required = true, split = ",",
      description = "Training rows (LLM-Embedder JSONL, e.g. from `mine` or `score`); several comma-separated files are"
          + " read in order.")
  List<Path> data;

  @Option(names = "--out", required = true,
      description = "Where to write the adapter file (--mode adapter) or the model directory (--mode full).")
  Path out;

  @Option(names = "--mode", defaultValue = "adapter",
      description = "What to train: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
  Mode mode;

  @Option(names = "--loss", defaultValue = "contrastive",
      description = "Loss: ${COMPLETION-CANDIDATES} (all but contrastive need teacher_scores; rows without are"
          + " skipped). Default: ${DEFAULT-VALUE}.")
  LossKind loss;

  @Option(names = "--epochs", description = "Most epochs. Default: 10 (adapter), 1 (full).")
  Integer epochs;

  @Option(names = "--batch-size", defaultValue = "16",
      description = "Queries per batch (one task per batch). Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--negatives", defaultValue = "7",
      description = "Negatives per query: rows with more keep their first N, rows with fewer are skipped (batches"
          + " need one shape). Default: ${DEFAULT-VALUE}.")
  int negatives;

  @Option(names = "--lr", description = "AdamW learning rate. Default: 1e-3 (adapter), 1e-5 (full: the peak, after a"
      + " linear warm-up, then a linear decay).")
  Double learningRate;

  @Option(names = "--weight-decay", defaultValue = "0",
      description = "Weight decay: toward the identity (adapter), toward zero on all but biases and LayerNorm"
          + " (full). Default: ${DEFAULT-VALUE}.")
  double weightDecay;

  @Option(names = "--query-max-tokens", defaultValue = "64",
      description = "--mode full: longest query in training, in tokens. Default: ${DEFAULT-VALUE}.")
  int queryMaxTokens;

  @Option(names = "--key-max-tokens", defaultValue = "256",
      description = "--mode full: longest key in training, in tokens (bounds time and memory; the exported model"
          + " still takes the model's full length). Default: ${DEFAULT-VALUE}.")
  int keyMaxTokens;

  @Option(names = "--chunk-tokens", defaultValue = "2048",
      description = "--mode full: padded tokens per forward/backward pass; bounds memory. Default: ${DEFAULT-VALUE}.")
  int chunkTokens;

  @Option(names = "--accumulate", defaultValue = "1",
      description = "--mode full: batches per optimiser step (gradient accumulation). Default: ${DEFAULT-VALUE}.")
  int accumulate;

  @Option(names = "--max-grad-norm", defaultValue = "0",
      description = "--mode full: clip each step's gradients to this global L2 norm (HuggingFace's Trainer: 1.0);"
          + " 0 for none. Default: ${DEFAULT-VALUE}.")
  double maxGradNorm;

  @Option(names = "--warmup", defaultValue = "0.1",
      description = "--mode full: fraction of the steps with a rising learning rate. Default: ${DEFAULT-VALUE}.")
  double warmup;

  @Option(names = "--device", defaultValue = "CPU",
      description = "--mode full: ${COMPLETION-CANDIDATES} (CUDA needs the PyTorch CUDA native jar). Default:"
          + " ${DEFAULT-VALUE}.")
  Device device;

  @Option(names = "--validation", defaultValue = "0.1",
      description = "Fraction of batches held out for validation loss and early stopping (0: none). Default:"
          + " ${DEFAULT-VALUE}.")
  double validation;

  @Option(names = "--patience", defaultValue = "3",
      description = "Epochs without a better validation loss before stopping (0: never). Default: ${DEFAULT-VALUE}.")
  int patience;

  @Option(names = "--checkpoint", description = "Training-state file, written every epoch and every"
      + " --checkpoint-every steps (default: <out>.ckpt).")
  Path checkpoint;

  @Option(names = "--checkpoint-every",
      description = "Steps between checkpoints within an epoch (0: epochs only). Default: 100 for an adapter, 10 for"
          + " --mode full (a step there takes minutes on a CPU, a checkpoint about 4x the model's fp32 size).")
  Integer checkpointEvery;

  @Option(names = "--resume", description = "Continue from an existing checkpoint (same data and options); without"
      + " it an existing checkpoint is an error.")
  boolean resume;

  @Option(names = "--seed", defaultValue = "42",
      description = "Seed of batching, the validation split and the epoch order. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--eval-data", description = "Also print nDCG@10 on this BEIR dataset before and after (uses or"
      + " builds the index in index/<dataset>-<model>; building it takes minutes).")
  Path evalData;

  @Option(names = "--eval-split", defaultValue = "test",
      description = "qrels split of --eval-data. Default: ${DEFAULT-VALUE}.")
  String evalSplit;

  /** The last call's training result and validation losses; for tests. */
  TrainingResult result;
  FineTuneResult fullResult;
  double untrainedValidationLoss = Double.NaN;
  double trainedValidationLoss = Double.NaN;

  @Override
  public Integer call() throws Exception {
    check();
    for (Path file : data) {
      DatasetOptions.requireFile(file, "training rows in LLM-Embedder's JSONL format");
    }
    if (mode == Mode.full) {
      return trainFull();
    }
    int epochs = this.epochs != null ? this.epochs : 10;
    double learningRate = this.learningRate != null ? this.learningRate : 1e-3;
    Path ckpt = checkpointFile();
    BeirDataset eval = evalData != null ? DatasetOptions.load(evalData, evalSplit) : null;

    List<TrainingExample> examples = readExamples();
    List<List<TrainingExample>> grouped = new Batches(batchSize, Batches.LastBatch.KEEP, seed).epoch(examples, 0)
        .stream().map(Batches.Batch::examples).toList();

    double nDcgBefore = Double.NaN;
    if (eval != null) {
      nDcgBefore = ndcg10(eval, null);
    }
    try (Encoder encoder = model.encoderBuilder().queryCacheSize(0).build()) {
      List<TrainingBatch> encoded = encode(new BatchEncoder(encoder), grouped);
      AdapterTrainer.Split split = AdapterTrainer.Split.of(encoded, validation, seed);
      System.out.printf("%d examples in %d batches: %d for training, %d for validation%n", examples.size(),
          encoded.size(), split.train().size(), split.validation().size());
      long totalSteps = (long) epochs * split.train().size();
      try (ProgressBar bar = Corpora.progressBar("Training", totalSteps, " steps")) {
        AdapterTrainer trainer = AdapterTrainer.builder().forEncoder(encoder).loss(lossFunction())
            .learningRate(learningRate).weightDecay(weightDecay).epochs(epochs).patience(patience).seed(seed)
            .checkpoint(ckpt).checkpointEverySteps(checkpointEvery != null ? checkpointEvery : 100)
            .listener(new TrainingListener() {
              @Override
              public void onStep(int epoch, int stepInEpoch, double stepLoss) {
                bar.stepTo((long) epoch * split.train().size() + stepInEpoch + 1);
                bar.setExtraMessage(String.format(Locale.ROOT, " epoch %d, loss %.4f", epoch, stepLoss));
              }
            }).build();
        result = trainer.fit(split.train(), split.validation());
        if (!split.validation().isEmpty()) {
          untrainedValidationLoss = trainer.meanLoss(
              QueryAdapter.identity(encoder.modelName(), encoder.dimension(), true), split.validation());
          trainedValidationLoss = trainer.meanLoss(result.adapter(), split.validation());
        }
      }
    }
    result.adapter().save(out);
    // the run is done and its adapter saved: the next `train` with this --out starts afresh
    Files.deleteIfExists(ckpt);
    printHistory();
    System.out.printf("Wrote the adapter (%d steps) to %s%n", result.steps(), out.toAbsolutePath().normalize());
    if (eval != null) {
      double nDcgAfter = ndcg10(eval, out);
      System.out.printf(Locale.ROOT, "nDCG@10 on %s/%s: %.4f without the adapter, %.4f with it (%+.4f)%n",
          eval.name(), eval.split(), nDcgBefore, nDcgAfter, nDcgAfter - nDcgBefore);
    }
    return 0;
  }

  /** {@code --mode full}: fine-tunes the encoder's weights, exports the model directory, evaluates before and after. */
  private int trainFull() throws Exception {
    Path ckpt = checkpointFile();
    int epochs = this.epochs != null ? this.epochs : 1;
    BeirDataset eval = evalData != null ? DatasetOptions.load(evalData, evalSplit) : null;
    List<TrainingExample> examples = readExamples();
    // hold out whole examples for validation: a seeded shuffle
    List<TrainingExample> shuffled = new ArrayList<>(examples);
    java.util.Collections.shuffle(shuffled, new Random(seed));
    int held = (int) Math.round(validation * shuffled.size());
    if (validation > 0 && held == 0 && shuffled.size() >= 2) {
      held = 1;
    }
    List<TrainingExample> validationExamples = shuffled.subList(0, held);
    List<TrainingExample> trainExamples = shuffled.subList(held, shuffled.size());
    double nDcgBefore = eval != null ? ndcg10(eval, null) : Double.NaN;
    EncoderFineTuner.Builder b = EncoderFineTuner.builder().loss(lossFunction())
        .learningRate(learningRate != null ? learningRate : 1e-5).warmupFraction(warmup).weightDecay(weightDecay)
        .maxGradNorm(maxGradNorm).epochs(epochs).patience(patience).batchSize(batchSize).accumulationSteps(accumulate)
        .queryMaxTokens(queryMaxTokens).keyMaxTokens(keyMaxTokens).chunkTokens(chunkTokens).seed(seed)
        .device(device).checkpoint(ckpt).checkpointEverySteps(checkpointEvery != null ? checkpointEvery : 10);
    if (model.modelDir != null) {
      b.modelDirectory(model.modelDir, model.family);
    } else {
      b.preset(ModelPreset.fromName(model.preset));
    }
    long perEpoch = new Batches(batchSize, Batches.LastBatch.KEEP, seed).batchesPerEpoch(trainExamples);
    System.out.printf("%d examples: %d for training (%d batches an epoch), %d for validation%n", examples.size(),
        trainExamples.size(), perEpoch, validationExamples.size());
    try (ProgressBar bar = Corpora.progressBar("Fine-tuning", epochs * perEpoch, " batches");
        EncoderFineTuner tuner = b.listener(new TrainingListener() {
          @Override
          public void onStep(int epoch, int stepInEpoch, double stepLoss) {
            bar.stepTo(epoch * perEpoch + stepInEpoch + 1);
            bar.setExtraMessage(String.format(Locale.ROOT, " epoch %d, loss %.4f", epoch, stepLoss));
          }
        }).build()) {
      fullResult = tuner.fit(trainExamples, validationExamples);
      tuner.export(out);
    }
    // the run is done and its model written: the next `train` with this --out starts afresh
    Files.deleteIfExists(ckpt);
    System.out.printf("%n| epoch | train loss | validation loss |%n|-------|------------|-----------------|%n");
    for (EpochStats s : fullResult.history()) {
      System.out.printf(Locale.ROOT, "| %5d | %10.5f | %15.5f |%s%n", s.epoch(), s.trainLoss(), s.validationLoss(),
          s.epoch() == fullResult.bestEpoch() ? " best" : "");
    }
    System.out.printf(Locale.ROOT, "%nValidation loss untrained: %.5f. %d optimiser steps, %d batches in %.0f s"
        + " (%.3f batches/s)%n", fullResult.baselineValidationLoss(), fullResult.steps(), fullResult.batches(),
        fullResult.seconds(), fullResult.batchesPerSecond());
    System.out.printf("Wrote the fine-tuned model to %s (load it with --model-dir %s --family %s)%n",
        out.toAbsolutePath().normalize(), out, family());
    if (eval != null) {
      double nDcgAfter = ndcg10Of(eval, out);
      System.out.printf(Locale.ROOT, "nDCG@10 on %s/%s: %.4f before, %.4f after full fine-tuning (%+.4f)%n",
          eval.name(), eval.split(), nDcgBefore, nDcgAfter, nDcgAfter - nDcgBefore);
    }
    return 0;
  }

  /**
   * The checkpoint file of this run ({@code --checkpoint}, else {@code <out>.ckpt}); refuses an existing one without
   * {@code --resume}.
   */
  private Path checkpointFile() {
    Path ckpt = checkpoint != null ? checkpoint : out.resolveSibling(out.getFileName() + ".ckpt");
    if (Files.exists(ckpt) && !resume) {
      throw new IllegalArgumentException("checkpoint " + ckpt.toAbsolutePath().normalize() + " exists; pass --resume"
          + " to continue that run, or delete it to train afresh");
    }
    if (resume && !Files.exists(ckpt)) {
      System.out.println("No checkpoint at " + ckpt + ": training from the start");
    } else if (resume) {
      System.out.println("Resuming from " + ckpt);
    }
    return ckpt;
  }

  private ModelFamily family() {
    return model.modelDir != null ? model.family : ModelPreset.fromName(model.preset).family();
  }

  /** nDCG@10 with the fine-tuned model directory: the corpus is indexed afresh, in memory. */
  private double ndcg10Of(BeirDataset dataset, Path modelDirectory) {
    try (LlmEmbedder embedder = LlmEmbedder.builder().modelDirectory(modelDirectory, family()).queryCacheSize(0)
        .build()) {
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      System.out.printf("Indexed %d documents with the fine-tuned model in %.1f s%n", stats.docs(), stats.seconds());
      String instruction = embedder.encoder().instructions().forTask(Task.QA).query();
      return KnowledgeEvaluation.evaluate(embedder.knowledge(), dataset, 100, instruction).metrics().get("ndcg@10");
    }
  }

  /** The training rows, each with its first {@code --negatives} negatives. */
  private List<TrainingExample> readExamples() throws java.io.IOException {
    boolean needsScores = loss != LossKind.contrastive;
    TrainingData.Read read = TrainingData.reader().requireTeacherScores(needsScores).positiveFromTeacher(true)
        .minNegatives(negatives).build().read(data);
    System.out.println("Read " + read);
    if (read.examples().isEmpty()) {
      throw new IllegalArgumentException("no usable training rows in " + data + " (" + read + ")" + (needsScores
          ? "; --loss " + loss + " needs teacher_scores: fill them with `score`" : ""));
    }
    return read.examples().stream().map(e -> firstNegatives(e, negatives)).toList();
  }

  private void check() {
    if (epochs != null && epochs < 1) {
      throw new IllegalArgumentException("--epochs is " + epochs + "; expected >= 1");
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size is " + batchSize + "; expected >= 1");
    }
    if (negatives < 0) {
      throw new IllegalArgumentException("--negatives is " + negatives + "; expected >= 0");
    }
    if (!(validation >= 0 && validation < 1)) {
      throw new IllegalArgumentException("--validation is " + validation + "; expected a fraction in [0, 1)");
    }
    if (learningRate != null && !(learningRate > 0)) {
      throw new IllegalArgumentException("--lr is " + learningRate + "; expected > 0");
    }
  }

  private ScoreLoss lossFunction() {
    return switch (loss) {
      case contrastive -> new InfoNceLoss();
      case stabilized -> new StabilizedDistillationLoss();
      case kl -> new KlDistillationLoss();
      case composite -> CompositeLoss.of(0.2, new InfoNceLoss(), 1.0, new StabilizedDistillationLoss());
    };
  }

  /** The example with its first {@code n} negatives (and their teacher scores) only. */
  static TrainingExample firstNegatives(TrainingExample e, int n) {
    if (e.negatives().size() <= n) {
      return e;
    }
    List<Double> scores = e.teacherScores().isEmpty() ? List.of()
        : e.teacherScores().subList(0, e.positives().size() + n);
    return new TrainingExample(e.query(), e.positives(), e.negatives().subList(0, n), scores, e.answers(), e.task());
  }

  /** Embeds the batches a few at a time, with a progress bar (the encoder caches what it has embedded). */
  private static List<TrainingBatch> encode(BatchEncoder encoder, List<List<TrainingExample>> batches) {
    List<TrainingBatch> out = new ArrayList<>(batches.size());
    try (ProgressBar bar = Corpora.progressBar("Embedding", batches.size(), " batches")) {
      for (int from = 0; from < batches.size(); from += 4) {
        List<List<TrainingExample>> chunk = batches.subList(from, Math.min(from + 4, batches.size()));
        out.addAll(encoder.encode(chunk));
        bar.stepBy(chunk.size());
      }
    }
    return out;
  }

  private void printHistory() {
    System.out.printf("%n| epoch | train loss | validation loss |%n|-------|------------|-----------------|%n");
    for (EpochStats s : result.history()) {
      System.out.printf(Locale.ROOT, "| %5d | %10.5f | %15.5f |%s%n", s.epoch(), s.trainLoss(), s.validationLoss(),
          s.epoch() == result.bestEpoch() ? " best" : "");
    }
    System.out.println();
    if (!Double.isNaN(trainedValidationLoss)) {
      System.out.printf(Locale.ROOT, "Validation loss: %.5f untrained, %.5f trained (best epoch %s)%n",
          untrainedValidationLoss, trainedValidationLoss,
          result.bestEpoch() < 0 ? "none: no epoch beat the untrained adapter, which is kept" : result.bestEpoch());
    } else {
      System.out.println("No validation batches: the last epoch's adapter is kept");
    }
    if (result.stoppedEarly()) {
      System.out.println("Stopped early: no improvement for " + patience + " epochs");
    }
  }

  /** nDCG@10 of knowledge retrieval on {@code data}, with the adapter file or without. */
  private double ndcg10(BeirDataset dataset, Path adapter) {
    LlmEmbedder.Builder b = model.embedderBuilder().queryCacheSize(0)
        .storageDirectory(DatasetOptions.defaultStore(dataset, model));
    if (adapter != null) {
      b.queryAdapter(adapter);
    }
    try (LlmEmbedder embedder = b.build()) {
      Corpora.IndexStats stats = Corpora.ensureIndexed(embedder, dataset);
      if (!stats.reused()) {
        System.out.printf("Indexed %d documents in %.1f s%n", stats.docs(), stats.seconds());
      }
      String instruction = embedder.encoder().instructions().forTask(Task.QA).query();
      return KnowledgeEvaluation.evaluate(embedder.knowledge(), dataset, 100, instruction).metrics().get("ndcg@10");
    }
  }
}
