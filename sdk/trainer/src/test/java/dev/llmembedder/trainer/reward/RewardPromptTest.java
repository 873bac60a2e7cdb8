package dev.llmembedder.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RewardPromptTest {

  @Test
  void defaultIsCandidateQueryThenTheAnswer() {
    assertEquals("Paris is in France.\nCapital?\n",
        RewardPrompt.DEFAULT.render(new ScoreRequest("Paris is in France.", "Capital?", "Paris")));
  }

  @Test
  void fillsInOnePassAndKeepsOtherBraces() {
    RewardPrompt p = new RewardPrompt("{\"json\": 1} Knowledge: {candidate}\nQ: {query}\nA:");
    assertEquals("{\"json\": 1} Knowledge: a {query} $1 \\\nQ: b\nA:", p.render("a {query} $1 \\", "b"));
  }

  @Test
  void unknownPlaceholdersAreRefusedNamingThem() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new RewardPrompt("{candidate} {question}"));
    assertTrue(e.getMessage().contains("{question} at index 12"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new RewardPrompt("{candidate}\n{query}\n{answer}"));
    assertTrue(e.getMessage().contains("appended after the template"), e.getMessage());
  }

  @Test
  void requestsAndLogProbsCheckTheirArguments() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ScoreRequest(null, "q", "a"));
    assertTrue(e.getMessage().startsWith("candidate is null"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new AnswerLogProbs(new double[] {-1, 0.5}));
    assertTrue(e.getMessage().startsWith("tokenLogProbs[1] is 0.5"), e.getMessage());
    double[] values = {-1, -3};
    AnswerLogProbs lp = new AnswerLogProbs(values);
    values[0] = -100;
    assertArrayEquals(new double[] {-1, -3}, lp.tokenLogProbs());
    assertEquals(-4, lp.sum());
    assertEquals(-2, lp.mean());
    assertEquals(2, lp.tokenCount());
  }
}
