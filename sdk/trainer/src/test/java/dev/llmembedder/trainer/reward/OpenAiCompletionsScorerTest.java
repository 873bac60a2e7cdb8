package dev.llmembedder.trainer.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Against a real local HTTP server answering in vLLM's format (see {@link FakeCompletionsServer}). */
class OpenAiCompletionsScorerTest {
  /** Answer "Paris" after a line break: one token, -(5 + 1) / 4. */
  private static final ScoreRequest PARIS = new ScoreRequest("Paris is in France.", "Capital of France?", "Paris");
  /**
   * Emoji in the candidate, the query and the answer. The answer's tokens: "Paris" -1.5, " " -0.5, "" -0.25 (the
   * emoji's first bytes), "😀" -0.5, " yes" -1.25: sum -4.0 over 5 tokens. Counting the answer in UTF-16 units (one
   * more for the emoji) would take in the line break before it (-0.5).
   */
  private static final ScoreRequest EMOJI = new ScoreRequest("I ❤️ 😀 Paris", "Où est 😀 ?", "Paris 😀 yes");
  /** No candidate; the answer's tokens: "Jane" -1.25, " Austen" -2.0. */
  private static final ScoreRequest AUSTEN = new ScoreRequest("", "Who wrote Emma?", "Jane Austen");

  private FakeCompletionsServer server;

  @BeforeEach
  void start() throws IOException {
    server = new FakeCompletionsServer();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private OpenAiCompletionsScorer.Builder scorer() {
    return OpenAiCompletionsScorer.builder(server.baseUrl(), "tiny-llm")
        .backoff(Duration.ofMillis(1), Duration.ofMillis(5));
  }

  @Test
  void sumsExactlyTheAnswerTokensInOneListCall() {
    try (OpenAiCompletionsScorer s = scorer().build()) {
      List<AnswerLogProbs> all = s.logProbs(List.of(PARIS, EMOJI, AUSTEN));
      assertArrayEquals(new double[] {-1.5}, all.get(0).tokenLogProbs(), 0);
      assertArrayEquals(new double[] {-1.5, -0.5, -0.25, -0.5, -1.25}, all.get(1).tokenLogProbs(), 0);
      assertArrayEquals(new double[] {-1.25, -2.0}, all.get(2).tokenLogProbs(), 0);
      assertArrayEquals(new double[] {-1.5, -4.0, -3.25}, s.score(List.of(PARIS, EMOJI, AUSTEN)), 0);
      assertEquals(0, s.score(List.of()).length);
    }
    List<JsonNode> sent = server.requests();
    assertEquals(2, sent.size(), "one call per score, the three prompts as a list; none for no request");
    JsonNode body = sent.get(0);
    assertEquals("tiny-llm", body.path("model").asText());
    assertTrue(body.path("echo").asBoolean());
    assertEquals(1, body.path("logprobs").asInt());
    assertEquals(0, body.path("max_tokens").asInt());
    assertEquals(3, body.path("prompt").size());
    assertEquals("Paris is in France.\nCapital of France?\nParis", body.path("prompt").get(0).asText());
    assertEquals("I ❤️ 😀 Paris\nOù est 😀 ?\nParis 😀 yes", body.path("prompt").get(1).asText());
  }

  @Test
  void meanDividesBySameAnswerTokens() {
    try (OpenAiCompletionsScorer s = scorer().reduction(LogProbReduction.MEAN).build()) {
      assertArrayEquals(new double[] {-1.5, -0.8, -1.625}, s.score(List.of(PARIS, EMOJI, AUSTEN)), 1e-12);
    }
  }

  @Test
  void aBosTheServerEchoesDoesNotMoveTheBoundary() {
    server.bos = true; // vLLM echoes "<|begin_of_text|>" first and counts its 17 code points in text_offset
    try (OpenAiCompletionsScorer s = scorer().build()) {
      assertArrayEquals(new double[] {-1.5, -4.0, -3.25}, s.score(List.of(PARIS, EMOJI, AUSTEN)), 0);
    }
  }

  @Test
  void aTokenAcrossThePromptsEndIsTheAnswers() {
    // the prompt ends in a space: the server's tokenizer makes " Paris" (-1.75), starting one code point early
    try (OpenAiCompletionsScorer s = scorer().prompt(new RewardPrompt("{candidate}\n{query}\nAnswer: ")).build()) {
      AnswerLogProbs paris = s.logProbs(List.of(PARIS)).get(0);
      assertArrayEquals(new double[] {-1.75}, paris.tokenLogProbs(), 0);
    }
  }

  @Test
  void anAnswerThatStartsTheTextHitsTheNullFirstLogProb() {
    RewardPrompt bare = new RewardPrompt("{candidate}{query}");
    ScoreRequest alone = new ScoreRequest("", "", "Paris");
    try (OpenAiCompletionsScorer s = scorer().prompt(bare).build()) {
      CompletionServerException e = assertThrows(CompletionServerException.class,
          () -> s.score(List.of(PARIS, alone)));
      assertTrue(e.getMessage().startsWith("the response of " + s.endpoint() + " requests[1]: token_logprobs[0]"),
          e.getMessage());
      assertTrue(e.getMessage().contains("is null") && e.getMessage().contains("prompt that is not empty"),
          e.getMessage());
      server.bos = true; // with a BOS before it, the answer's first token has a log-prob
      assertEquals(-1.5, s.score(alone), 0);
    }
  }

  @Test
  void fallsBackToOneMaxTokenAndDropsTheGeneratedToken() {
    server.rejectZeroMaxTokens = true;
    try (OpenAiCompletionsScorer s = scorer().build()) {
      assertArrayEquals(new double[] {-1.5, -4.0, -3.25}, s.score(List.of(PARIS, EMOJI, AUSTEN)), 0);
      assertArrayEquals(new double[] {-1.5, -4.0}, s.score(List.of(PARIS, EMOJI)), 0);
    }
    List<Integer> maxTokens = server.requests().stream().map(r -> r.path("max_tokens").asInt()).toList();
    assertEquals(List.of(0, 1, 1), maxTokens, "0 once, refused; then 1, remembered");
  }

  @Test
  void fallsBackToOnePromptPerCallWhenListsAreRefused() {
    server.rejectLists = true;
    try (OpenAiCompletionsScorer s = scorer().build()) {
      assertArrayEquals(new double[] {-1.5, -4.0, -3.25}, s.score(List.of(PARIS, EMOJI, AUSTEN)), 0);
      int negotiation = server.requests().size();
      assertArrayEquals(new double[] {-1.5, -4.0}, s.score(List.of(PARIS, EMOJI)), 0);
      List<JsonNode> later = server.requests().subList(negotiation, server.requests().size());
      assertEquals(2, later.size());
      later.forEach(r -> assertTrue(r.path("prompt").isTextual(), "one prompt per call: " + r));
      later.forEach(r -> assertEquals(0, r.path("max_tokens").asInt(), "max_tokens 0 still works: " + r));
    }
  }

  @Test
  void choicesAreMatchedByIndexAcrossCalls() {
    server.reverseChoices = true;
    try (OpenAiCompletionsScorer s = scorer().batchSize(2).build()) {
      assertArrayEquals(new double[] {-3.25, -1.5, -4.0}, s.score(List.of(AUSTEN, PARIS, EMOJI)), 0);
    }
    assertEquals(2, server.requests().size());
    assertEquals(2, server.requests().get(0).path("prompt").size());
    assertTrue(server.requests().get(1).path("prompt").isTextual(), "a last chunk of one goes as a single prompt");
  }

  @Test
  void retriesOverloadAndSucceeds() {
    server.failNext(503, 429);
    server.retryAfter = "0";
    try (OpenAiCompletionsScorer s = scorer().maxRetries(2).build()) {
      assertEquals(-1.5, s.score(PARIS), 0);
    }
    assertEquals(3, server.requests().size());
  }

  @Test
  void givesUpAfterBoundedRetriesWithStatusAndBody() {
    server.failNext(500, 500, 500, 500, 500);
    try (OpenAiCompletionsScorer s = scorer().maxRetries(2).build()) {
      CompletionServerException e = assertThrows(CompletionServerException.class, () -> s.score(PARIS));
      assertEquals(500, e.statusCode());
      assertTrue(e.getMessage().contains("HTTP 500 after 3 attempts"), e.getMessage());
      assertTrue(e.getMessage().contains("the engine is overloaded"), e.getMessage());
      assertTrue(e.bodyExcerpt().contains("InternalServerError"), e.bodyExcerpt());
    }
    assertEquals(3, server.requests().size());
  }

  @Test
  void aClientErrorFailsAtOnceWithStatusAndBody() {
    server.fixedStatus = 404;
    try (OpenAiCompletionsScorer s = scorer().build()) {
      CompletionServerException e = assertThrows(CompletionServerException.class, () -> s.score(PARIS));
      assertEquals(404, e.statusCode());
      assertTrue(e.getMessage().contains("HTTP 404 after 1 attempt"), e.getMessage());
      assertTrue(e.getMessage().contains("The model `tiny-llm` does not exist."), e.getMessage());
    }
    assertEquals(1, server.requests().size());
  }

  @Test
  void aSlowServerTimesOutAfterRetries() {
    server.delayMillis = 2_000;
    try (OpenAiCompletionsScorer s = scorer().requestTimeout(Duration.ofMillis(150)).maxRetries(1).build()) {
      CompletionServerException e = assertThrows(CompletionServerException.class, () -> s.score(PARIS));
      assertEquals(-1, e.statusCode());
      assertTrue(e.getMessage().contains("after 2 attempts") && e.getMessage().contains("timed out"),
          e.getMessage());
    }
  }

  @Test
  void aResponseWithoutLogprobsIsAnError() {
    server.omitLogprobs = true;
    try (OpenAiCompletionsScorer s = scorer().build()) {
      CompletionServerException e = assertThrows(CompletionServerException.class, () -> s.score(PARIS));
      assertTrue(e.getMessage().contains("requests[0]: has no logprobs") && e.getMessage().contains("echo"),
          e.getMessage());
    }
  }

  @Test
  void aClosedScorerRefuses() {
    OpenAiCompletionsScorer s = scorer().build();
    s.close();
    s.close();
    assertThrows(IllegalStateException.class, () -> s.score(PARIS));
    assertEquals(0, server.requests().size());
  }

  @Test
  void endpointAndArgumentChecks() {
    assertEquals(URI.create("http://h:8000/v1/completions"),
        OpenAiCompletionsScorer.builder(URI.create("http://h:8000"), "m").build().endpoint());
    assertEquals(URI.create("http://h:8000/v1/completions"),
        OpenAiCompletionsScorer.builder(URI.create("http://h:8000/v1/"), "m").build().endpoint());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OpenAiCompletionsScorer.builder(URI.create("h:8000"), "m"));
    assertTrue(e.getMessage().contains("h:8000"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> OpenAiCompletionsScorer.builder(URI.create("http://h:8000"), " "));
    assertTrue(e.getMessage().startsWith("model is blank"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> scorer().batchSize(0));
    assertTrue(e.getMessage().startsWith("batchSize is 0"), e.getMessage());
  }

  @Test
  void backoffDoublesHonoursRetryAfterAndIsCapped() {
    try (OpenAiCompletionsScorer s = OpenAiCompletionsScorer.builder(URI.create("http://h:1"), "m")
        .backoff(Duration.ofMillis(100), Duration.ofSeconds(2)).build()) {
      assertEquals(Duration.ofMillis(100), s.backoff(1, Optional.empty()));
      assertEquals(Duration.ofMillis(400), s.backoff(3, Optional.empty()));
      assertEquals(Duration.ofSeconds(2), s.backoff(10, Optional.empty()));
      assertEquals(Duration.ofSeconds(1), s.backoff(1, Optional.of("1")));
      assertEquals(Duration.ofSeconds(2), s.backoff(1, Optional.of("60")));
      assertEquals(Duration.ofMillis(100), s.backoff(1, Optional.of("Wed, 21 Oct 2015 07:28:00 GMT")));
    }
  }

  @Test
  void theFakeTokenizerIsWhatTheTestsAssume() {
    assertEquals(List.of("Paris", " is", "\n", "Paris", " ", "", "😀", " yes"),
        FakeCompletionsServer.tokenize("Paris is\nParis 😀 yes"));
  }
}
