package dev.llmembedder.trainer.reward;

import dev.llmembedder.trainer.data.TrainingExample;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Fills training examples' teacher scores with an LLM's rewards: for each candidate C of an example
 * ({@link TrainingExample#candidates()}: positives, then negatives), the reward of C for the example's query q and
 * its expected answers, as the {@link LlmScorer} computes it ({@link LlmScorer#reduction()}, log scale).
 *
 * <p><b>Several answers.</b> {@link AnswerPolicy} chooses: {@link AnswerPolicy#FIRST} (the default) scores the first
 * answer only, one request per candidate; {@link AnswerPolicy#MAX} and {@link AnswerPolicy#MEAN} score every answer
 * and keep the best, or the mean, per candidate (candidates x answers requests). The query is passed as it is: task
 * instructions belong to the embedder, not to the LLM's prompt ({@link RewardPrompt} lays that out).
 *
 * <p>Thread-safe when the scorer is (both of this package's are). Does not own the scorer: close it yourself.
 */
public final class TeacherScoring {

  /** Which of an example's answers a candidate's reward is computed for. */
  public enum AnswerPolicy {
    /**
     * The first answer only. QA datasets list the reference answer first and its aliases after it; scoring one answer
     * costs one request per candidate.
     */
    FIRST,
    /** The highest reward over the answers: a candidate is as good as the answer it supports best. */
    MAX,
    /** The mean reward over the answers (of log-probabilities: the geometric mean of the probabilities). */
    MEAN
  }

  private final LlmScorer scorer;
  private final AnswerPolicy policy;

  /**
   * @param scorer computes the rewards; not closed by this class
   * @param policy which answers count
   */
  public TeacherScoring(LlmScorer scorer, AnswerPolicy policy) {
    this.scorer = Objects.requireNonNull(scorer, "scorer");
    this.policy = Objects.requireNonNull(policy, "policy");
  }

  /** With {@link AnswerPolicy#FIRST}. */
  public TeacherScoring(LlmScorer scorer) {
    this(scorer, AnswerPolicy.FIRST);
  }

  /**
   * The rewards of {@code example}'s candidates, positives first then negatives, in the order of
   * {@link TrainingExample#candidates()} and of {@code teacher_scores}.
   *
   * @throws IllegalArgumentException if the example has no answer (naming its query) or a request fails as described
   *     by {@link LlmScorer#logProbs(List)}
   * @throws IllegalStateException if the scorer fails
   */
  public List<Double> scores(TrainingExample example) {
    return scoreAll(List.of(Objects.requireNonNull(example, "example"))).get(0);
  }

  /**
   * {@code examples} with their {@code teacherScores} replaced by the rewards (see {@link #scores}), everything else
   * kept; all examples' candidates are scored in one call of the scorer, which batches them.
   *
   * @return one example per input, in input order
   * @throws IllegalArgumentException if an example is null or has no answer (naming its index and query)
   * @throws IllegalStateException if the scorer fails
   */
  public List<TrainingExample> withScores(List<TrainingExample> examples) {
    List<List<Double>> scores = scoreAll(examples);
    List<TrainingExample> out = new ArrayList<>(examples.size());
    for (int i = 0; i < examples.size(); i++) {
      TrainingExample e = examples.get(i);
      out.add(new TrainingExample(e.query(), e.positives(), e.negatives(), scores.get(i), e.answers(), e.task()));
    }
    return out;
  }

  private List<List<Double>> scoreAll(List<TrainingExample> examples) {
    Objects.requireNonNull(examples, "examples is null");
    List<ScoreRequest> requests = new ArrayList<>();
    for (int i = 0; i < examples.size(); i++) {
      TrainingExample e = examples.get(i);
      if (e == null) {
        throw new IllegalArgumentException("examples[" + i + "] is null");
      }
      if (e.answers().isEmpty()) {
        throw new IllegalArgumentException("examples[" + i + "] ('" + e.query() + "') has no answers; the reward"
            + " P(answer | candidate, query) needs one");
      }
      for (String candidate : e.candidates()) {
        for (String answer : answers(e)) {
          requests.add(new ScoreRequest(candidate, e.query(), answer));
        }
      }
    }
    double[] rewards = scorer.score(requests);
    List<List<Double>> out = new ArrayList<>(examples.size());
    int next = 0;
    for (TrainingExample e : examples) {
      int perCandidate = answers(e).size();
      List<Double> scores = new ArrayList<>(e.candidates().size());
      for (int c = 0; c < e.candidates().size(); c++) {
        double combined = policy == AnswerPolicy.MAX ? Double.NEGATIVE_INFINITY : 0;
        for (int a = 0; a < perCandidate; a++) {
          double r = rewards[next++];
          combined = policy == AnswerPolicy.MAX ? Math.max(combined, r) : combined + r;
        }
        scores.add(policy == AnswerPolicy.MEAN ? combined / perCandidate : combined);
      }
      out.add(List.copyOf(scores));
    }
    return out;
  }

  private List<String> answers(TrainingExample e) {
    return policy == AnswerPolicy.FIRST ? e.answers().subList(0, 1) : e.answers();
  }
}
