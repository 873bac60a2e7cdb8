package dev.llmembedder.examples;

import dev.llmembedder.trainer.reward.LlmScorer;
import dev.llmembedder.trainer.reward.LogProbReduction;
import dev.llmembedder.trainer.reward.OnnxCausalLmScorer;
import dev.llmembedder.trainer.reward.OpenAiCompletionsScorer;
import dev.llmembedder.trainer.reward.ScoreFile;
import dev.llmembedder.trainer.reward.TeacherScoring;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code score}: fills the {@code teacher_scores} of a training file with an LLM's rewards, in process (an ONNX causal
 * LM) or through an OpenAI-compatible completions server. Resumable: see {@link ScoreFile}.
 */
@Command(name = "score", mixinStandardHelpOptions = true,
    description = "Fill the teacher_scores of a training JSONL file with an LLM's rewards log P(answer | candidate,"
        + " query), one per candidate. Resumable: run the same command again after an interruption.")
final class ScoreCommand implements Callable<Integer> {
  @Option(names = "--in", required = true, description = "Training rows (LLM-Embedder JSONL with answers).")
  Path in;

  @Option(names = "--out", required = true, description = "Where to write the scored rows; <out>.partial holds the"
      + " progress until the run ends.")
  Path out;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Llm llm;

  static final class Llm {
    @Option(names = "--llm-dir", description = "A causal LM exported to ONNX (model.onnx + tokenizer.json), run in"
        + " process.")
    Path dir;

    @ArgGroup(exclusive = false)
    Server server;
  }

  static final class Server {
    @Option(names = "--llm-url", required = true, description = "Base URL of an OpenAI-compatible completions server"
        + " (vLLM), e.g. http://localhost:8000.")
    URI url;

    @Option(names = "--llm-model", required = true, description = "The model name the server serves.")
    String model;
  }

  @Option(names = "--reduction", defaultValue = "SUM",
      description = "How answer-token log-probs become one score: ${COMPLETION-CANDIDATES} (any case). Default: ${DEFAULT-VALUE}.")
  LogProbReduction reduction;

  @Option(names = "--answers", defaultValue = "FIRST",
      description = "Which answers of a row are scored: ${COMPLETION-CANDIDATES} (first answer; best; mean over"
          + " answers). Default: ${DEFAULT-VALUE}.")
  TeacherScoring.AnswerPolicy answers;

  @Option(names = "--batch-size", defaultValue = "16",
      description = "Requests per model run (ONNX) or per server call. Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = "--sync-every", defaultValue = "8",
      description = "Rows scored per step and made durable (fsync) in <out>.partial: the most an interruption"
          + " loses. Default: ${DEFAULT-VALUE}.")
  int syncEvery;

  @Option(names = "--rescore", description = "Score rows that already have teacher_scores again (default: keep them).")
  boolean rescore;

  @Option(names = "--api-key-env", defaultValue = "OPENAI_API_KEY",
      description = "Environment variable holding the server's API key, if it needs one. Default: ${DEFAULT-VALUE}.")
  String apiKeyEnv;

  /** What the last call did; for tests. */
  ScoreFile.Result result;

  @Override
  public Integer call() throws Exception {
    DatasetOptions.requireFile(in, "training rows in LLM-Embedder's JSONL format");
    if (batchSize < 1) {
      throw new IllegalArgumentException("--batch-size is " + batchSize + "; expected >= 1");
    }
    if (syncEvery < 1) {
      throw new IllegalArgumentException("--sync-every is " + syncEvery + "; expected >= 1");
    }
    if (llm.dir != null && !Files.isDirectory(llm.dir)) {
      throw new IllegalArgumentException("--llm-dir " + llm.dir.toAbsolutePath().normalize() + " is not a directory;"
          + " expected model.onnx and tokenizer.json, e.g. ../shared/models/tiny-random-gpt2");
    }
    String settings = settings();
    Path partial = ScoreFile.partialFile(out.toAbsolutePath());
    if (Files.exists(partial)) {
      System.out.println("Resuming from " + partial);
    }
    try (LlmScorer scorer = scorer(); ProgressBar bar = Corpora.progressBar("Scoring " + in.getFileName(), 0,
        " rows")) {
      ScoreFile file = ScoreFile.builder(new TeacherScoring(scorer, answers)).rescore(rescore).syncEvery(syncEvery)
          .settings(settings).listener((done, total) -> {
            bar.maxHint(total);
            bar.stepTo(done);
          }).build();
      result = file.run(in, out);
    }
    System.out.printf("Wrote %d rows to %s: %d scored now, %d resumed from the partial file, %d kept their scores,"
        + " %d without answers and %d without candidates left unscored%n", result.rows(),
        out.toAbsolutePath().normalize(), result.scored(), result.resumed(), result.keptScores(), result.noAnswers(),
        result.noCandidates());
    if (result.droppedBytes() > 0) {
      System.out.printf("Cut %d bytes of an incomplete row off the partial file before resuming%n",
          result.droppedBytes());
    }
    return 0;
  }

  private LlmScorer scorer() {
    if (llm.dir != null) {
      return OnnxCausalLmScorer.builder(llm.dir).reduction(reduction).batchSize(batchSize).build();
    }
    OpenAiCompletionsScorer.Builder b = OpenAiCompletionsScorer.builder(llm.server.url, llm.server.model)
        .reduction(reduction).batchSize(batchSize);
    String key = System.getenv(apiKeyEnv);
    if (key != null && !key.isBlank()) {
      b.apiKey(key);
    }
    return b.build();
  }

  /** Everything that changes the scores; a partial file resumes only with the same. */
  private String settings() {
    String model = llm.dir != null ? "onnx " + llm.dir.toAbsolutePath().normalize()
        : "server " + llm.server.url + " model " + llm.server.model;
    return String.format(Locale.ROOT, "llm=%s, reduction=%s, answers=%s, rescore=%b, input=%s", model, reduction,
        answers, rescore, in.toAbsolutePath().normalize());
  }
}
