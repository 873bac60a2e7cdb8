package dev.llmembedder.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.testing.SharedData;
import dev.llmembedder.trainer.data.TrainingExample;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** With the real tiny-random-gpt2 scorer: which requests are made and how their rewards are combined. */
class TeacherScoringTest {
  private static final TrainingExample PARIS = new TrainingExample("What is the capital of France?",
      List.of("Paris is the capital of France.", "France's capital is Paris."),
      List.of("Berlin is the capital of Germany.", "Madrid is in Spain."), List.of(), List.of("Paris", "Paris, France"),
      Task.QA);
  private static final TrainingExample EMMA = new TrainingExample("Who wrote Emma?",
      List.of("Emma is a novel by Jane Austen."), List.of(), List.of(), List.of("Jane Austen"), Task.QA);

  private static OnnxCausalLmScorer scorer;

  @BeforeAll
  static void load() {
    scorer = OnnxCausalLmScorer.builder(SharedData.require("models/tiny-random-gpt2")).intraOpThreads(1).build();
  }

  @AfterAll
  static void close() {
    if (scorer != null) {
      scorer.close();
    }
  }

  private static double reward(String candidate, String query, String answer) {
    return scorer.score(new ScoreRequest(candidate, query, answer));
  }

  @Test
  void firstAnswerScoresEachCandidatePositivesFirst() {
    List<Double> scores = new TeacherScoring(scorer).scores(PARIS);
    List<String> candidates = PARIS.candidates();
    assertEquals(4, scores.size());
    for (int c = 0; c < 4; c++) {
      assertEquals(reward(candidates.get(c), PARIS.query(), "Paris"), scores.get(c), 1e-4, "candidate " + c);
    }
    assertEquals(reward("Berlin is the capital of Germany.", PARIS.query(), "Paris"), scores.get(2), 1e-4);
  }

  @Test
  void maxAndMeanCombineEveryAnswer() {
    List<Double> max = new TeacherScoring(scorer, TeacherScoring.AnswerPolicy.MAX).scores(PARIS);
    List<Double> mean = new TeacherScoring(scorer, TeacherScoring.AnswerPolicy.MEAN).scores(PARIS);
    for (int c = 0; c < 4; c++) {
      String candidate = PARIS.candidates().get(c);
      double a = reward(candidate, PARIS.query(), "Paris");
      double b = reward(candidate, PARIS.query(), "Paris, France");
      assertEquals(Math.max(a, b), max.get(c), 1e-4, "candidate " + c);
      assertEquals((a + b) / 2, mean.get(c), 1e-4, "candidate " + c);
    }
  }

  @Test
  void withScoresFillsTeacherScoresInOrderAndKeepsTheRest() {
    List<TrainingExample> scored = new TeacherScoring(scorer).withScores(List.of(PARIS, EMMA));
    assertEquals(2, scored.size());
    TrainingExample first = scored.get(0);
    assertEquals(PARIS.query(), first.query());
    assertEquals(PARIS.positives(), first.positives());
    assertEquals(PARIS.negatives(), first.negatives());
    assertEquals(PARIS.answers(), first.answers());
    assertEquals(PARIS.task(), first.task());
    List<Double> alone = new TeacherScoring(scorer).scores(PARIS);
    for (int c = 0; c < 4; c++) {
      assertEquals(alone.get(c), first.teacherScores().get(c), 1e-4);
    }
    assertEquals(List.of(reward(EMMA.positives().get(0), EMMA.query(), "Jane Austen")).get(0),
        scored.get(1).teacherScores().get(0), 1e-4);
  }

  @Test
  void anExampleWithoutAnswersIsRefusedNamingIt() {
    TrainingExample none = new TrainingExample("Where is Paris?", List.of("In France."), List.of(), List.of(),
        List.of(), Task.QA);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new TeacherScoring(scorer).withScores(List.of(EMMA, none)));
    assertTrue(e.getMessage().startsWith("examples[1] ('Where is Paris?') has no answers"), e.getMessage());
  }
}
