package dev.llmembedder.trainer.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link LlmScorer} that asks an OpenAI-compatible completions server (vLLM's {@code /v1/completions}) for the
 * log-probabilities of the prompt it echoes, so the LLM runs elsewhere (a GPU server) and nothing is generated.
 *
 * <p><b>Request.</b> {@code POST {baseUrl}/v1/completions} (or {@code {baseUrl}/completions} when the base URL already
 * ends in {@code /v1}) with the JSON body {@code {"model": ..., "prompt": prompt + answer, "echo": true,
 * "logprobs": 1, "max_tokens": 0, "temperature": 0}}; {@code "prompt"} is a list of texts when several requests go in
 * one call. The response's {@code choices[i].logprobs} holds {@code tokens}, {@code token_logprobs} and
 * {@code text_offset}, one entry per token of the echoed text; the first token's log-prob is {@code null} (nothing
 * precedes it).
 *
 * <p><b>Where the answer starts.</b> The server tokenizes prompt + answer as one text, so the answer's tokens are found
 * by character offsets. {@code text_offset} is assumed to count Unicode code points, as vLLM's do (Python string
 * lengths of the decoded tokens: {@code offset[i+1] = offset[i] + len(tokens[i])}); they are not UTF-16 units (an emoji
 * is 1 code point but 2 Java chars) nor UTF-8 bytes, and this class measures the answer in code points. The offsets are
 * anchored at the end of the echoed text, not at 0: the echo's end is {@code offset[last] + len(tokens[last])}, and the
 * answer is the last {@code answer.codePointCount()} code points before it. (vLLM prepends the decoded BOS, such as
 * {@code "<|begin_of_text|>"}, to the echoed tokens and counts it in the offsets, so measuring from 0 would put the
 * boundary 17 code points early for Llama 3.) A token is the answer's when it starts at or after the answer's first
 * code point, or starts before it and ends after it: a token the tokenizer merged across the boundary (a prompt ending
 * in a space and an answer starting with a word) is scored whole, and a zero-length token for the first bytes of a
 * multi-byte character counts with it. With a prompt that ends in a separator the tokenizer never merges across, like
 * {@link RewardPrompt#DEFAULT}'s line break, no token straddles the boundary and the answer's tokens are those of
 * {@link OnnxCausalLmScorer}. An answer token with a {@code null} log-prob (the answer is the start of the text: an
 * empty prompt and no BOS) is an error.
 *
 * <p><b>{@code max_tokens}.</b> 0 asks for the echo alone. A server that rejects 0 (HTTP 400 or 422) gets the same
 * request again with 1, and this scorer remembers to send 1 from then on; the one generated token is the response's
 * last, after the echo, and is left out (the response must then hold exactly one generated token, as vLLM's does).
 *
 * <p><b>Batching.</b> Up to {@link Builder#batchSize(int)} requests go in one call as a list of prompts, and the
 * choices are matched back by their {@code index}. When a server rejects a list (HTTP 400 or 422) and then accepts the
 * same prompts one by one, this scorer sends one prompt per call from then on. Calls are sequential; results come back
 * in input order.
 *
 * <p><b>Failures.</b> HTTP 429 and 5xx, timeouts and connection failures are retried up to
 * {@link Builder#maxRetries(int)} times with exponential backoff ({@link Builder#backoff(Duration, Duration)}, a
 * {@code Retry-After} in seconds is honoured up to the maximum); other statuses fail at once. Failures throw
 * {@link CompletionServerException} with the HTTP status and the start of the response body.
 *
 * <p><b>Thread-safety.</b> Thread-safe: concurrent calls share one {@link HttpClient}. {@link #close()} closes it.
 */
public final class OpenAiCompletionsScorer implements LlmScorer {
  private static final Logger LOG = LoggerFactory.getLogger(OpenAiCompletionsScorer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request's text and the sizes the offsets are compared with, in code points. */
  private record Item(int index, String text, int textCodePoints, int answerCodePoints) {}

  /** The server said no to the request's form (HTTP 400 or 422), not to the prompt's content, perhaps. */
  private static boolean rejected(CompletionServerException e) {
    return e.statusCode() == 400 || e.statusCode() == 422;
  }

  private final URI endpoint;
  private final String model;
  private final String apiKey;
  private final RewardPrompt prompt;
  private final LogProbReduction reduction;
  private final int batchSize;
  private final Duration requestTimeout;
  private final int maxRetries;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final HttpClient http;
  /** Whether the server takes a list of prompts; null until known. */
  private volatile Boolean listsWork;
  /** Whether the server takes {@code max_tokens: 0}; null until known. */
  private volatile Boolean zeroMaxTokensWorks;
  private volatile boolean closed;

  private OpenAiCompletionsScorer(Builder b) {
    this.endpoint = b.endpoint;
    this.model = b.model;
    this.apiKey = b.apiKey;
    this.prompt = b.prompt;
    this.reduction = b.reduction;
    this.batchSize = b.batchSize;
    this.requestTimeout = b.requestTimeout;
    this.maxRetries = b.maxRetries;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.http = HttpClient.newBuilder().connectTimeout(b.connectTimeout).version(HttpClient.Version.HTTP_1_1).build();
  }

  /**
   * A builder for a scorer that calls the server at {@code baseUrl} (for vLLM, {@code http://host:8000} or
   * {@code http://host:8000/v1}) with the model name it serves.
   *
   * @throws IllegalArgumentException if {@code baseUrl} is not an absolute http(s) URL or {@code model} is blank
   */
  public static Builder builder(URI baseUrl, String model) {
    return new Builder(baseUrl, model);
  }

  @Override
  public LogProbReduction reduction() {
    return reduction;
  }

  /** The URL posted to: {@code {baseUrl}/v1/completions}. */
  public URI endpoint() {
    return endpoint;
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if a request is null (naming its index)
   * @throws CompletionServerException if the server fails (after retries) or its response has no usable echoed
   *     log-probabilities for a request (naming its index)
   * @throws IllegalStateException if the scorer is closed
   */
  @Override
  public List<AnswerLogProbs> logProbs(List<ScoreRequest> requests) {
    Objects.requireNonNull(requests, "requests is null");
    if (closed) {
      throw new IllegalStateException("scorer for " + endpoint + " is closed");
    }
    List<Item> items = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      ScoreRequest r = requests.get(i);
      if (r == null) {
        throw new IllegalArgumentException("requests[" + i + "] is null");
      }
      String text = prompt.render(r) + r.answer();
      items.add(new Item(i, text, text.codePointCount(0, text.length()),
          r.answer().codePointCount(0, r.answer().length())));
    }
    List<AnswerLogProbs> out = new ArrayList<>(items.size());
    for (int from = 0; from < items.size(); from += batchSize) {
      out.addAll(scoreChunk(items.subList(from, Math.min(items.size(), from + batchSize))));
    }
    return List.copyOf(out);
  }

  private List<AnswerLogProbs> scoreChunk(List<Item> items) {
    if (items.size() > 1 && listsWork != Boolean.FALSE) {
      try {
        List<AnswerLogProbs> out = send(items, true);
        listsWork = true;
        return out;
      } catch (CompletionServerException e) {
        if (!rejected(e) || listsWork == Boolean.TRUE) {
          throw e;
        }
        List<AnswerLogProbs> out = new ArrayList<>(items.size());
        for (Item item : items) {
          out.addAll(send(List.of(item), false)); // fails as it would have if the list was not the problem
        }
        LOG.warn("{} rejected a list of {} prompts (HTTP {}) but took them one by one; sending one per call from now"
            + " on", endpoint, items.size(), e.statusCode());
        listsWork = false;
        return out;
      }
    }
    List<AnswerLogProbs> out = new ArrayList<>(items.size());
    for (Item item : items) {
      out.addAll(send(List.of(item), false));
    }
    return out;
  }

  /** One call for {@code items}, with {@code max_tokens} 0 unless the server is known to refuse it. */
  private List<AnswerLogProbs> send(List<Item> items, boolean asList) {
    if (zeroMaxTokensWorks == Boolean.FALSE) {
      return parse(post(body(items, asList, 1)), items, 1);
    }
    JsonNode response;
    try {
      response = post(body(items, asList, 0));
    } catch (CompletionServerException zero) {
      if (!rejected(zero) || zeroMaxTokensWorks == Boolean.TRUE) {
        throw zero;
      }
      try {
        response = post(body(items, asList, 1));
      } catch (CompletionServerException one) {
        one.addSuppressed(zero);
        throw one;
      }
      LOG.warn("{} rejected max_tokens 0 (HTTP {}: {}) but took 1; sending 1 from now on and dropping the generated "
          + "token", endpoint, zero.statusCode(), zero.bodyExcerpt());
      zeroMaxTokensWorks = false;
      return parse(response, items, 1);
    }
    zeroMaxTokensWorks = true;
    return parse(response, items, 0);
  }

  private ObjectNode body(List<Item> items, boolean asList, int maxTokens) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    if (asList) {
      ArrayNode prompts = body.putArray("prompt");
      items.forEach(item -> prompts.add(item.text));
    } else {
      body.put("prompt", items.get(0).text);
    }
    body.put("echo", true);
    body.put("logprobs", 1);
    body.put("max_tokens", maxTokens);
    body.put("temperature", 0);
    return body;
  }

  private List<AnswerLogProbs> parse(JsonNode response, List<Item> items, int maxTokens) {
    JsonNode choices = response.path("choices");
    if (!choices.isArray() || choices.size() != items.size()) {
      throw invalid("has " + (choices.isArray() ? choices.size() + " choices" : "no choices array") + " for "
          + items.size() + " prompt(s)", response);
    }
    AnswerLogProbs[] out = new AnswerLogProbs[items.size()];
    for (int c = 0; c < choices.size(); c++) {
      JsonNode choice = choices.get(c);
      int at = choice.path("index").asInt(c);
      if (at < 0 || at >= out.length || out[at] != null) {
        throw invalid("has choice index " + at + " for " + items.size() + " prompt(s)", response);
      }
      out[at] = answerLogProbs(choice.path("logprobs"), items.get(at), maxTokens, response);
    }
    return List.of(out);
  }

  private AnswerLogProbs answerLogProbs(JsonNode logprobs, Item item, int maxTokens, JsonNode response) {
    String which = "requests[" + item.index + "]: ";
    JsonNode tokens = logprobs.path("tokens");
    JsonNode values = logprobs.path("token_logprobs");
    JsonNode offsets = logprobs.path("text_offset");
    if (!tokens.isArray() || !values.isArray() || !offsets.isArray()) {
      throw invalid(which + "has no logprobs.tokens, token_logprobs and text_offset arrays (does the server echo the"
          + " prompt's log-probabilities? vLLM does with echo and logprobs)", response);
    }
    int n = tokens.size();
    if (values.size() != n || offsets.size() != n) {
      throw invalid(which + "has " + n + " tokens, " + values.size() + " token_logprobs and " + offsets.size()
          + " text_offset entries; expected as many of each", response);
    }
    int echoed = n - maxTokens; // with max_tokens 1 the last token is the generated one
    if (echoed < 1) {
      throw invalid(which + "has " + n + " tokens; expected the echoed text's and " + maxTokens + " generated",
          response);
    }
    long end = maxTokens == 0
        ? offsets.get(n - 1).asLong() + codePoints(tokens.get(n - 1).asText())
        : offsets.get(n - 1).asLong();
    if (end < item.textCodePoints) {
      throw invalid(which + "echoes " + end + " code points but the text sent has " + item.textCodePoints
          + "; expected text_offset in code points, covering the whole echoed text", response);
    }
    long answerStart = end - item.answerCodePoints;
    int first = -1;
    for (int i = 0; i < echoed && first < 0; i++) {
      long start = offsets.get(i).asLong();
      long tokenEnd = i + 1 < n ? offsets.get(i + 1).asLong() : end;
      if (start >= answerStart || tokenEnd > answerStart) {
        first = i;
      }
    }
    if (first < 0) {
      throw invalid(which + "has no token at or after the answer's start (code point " + answerStart + ")", response);
    }
    double[] lp = new double[echoed - first];
    for (int i = first; i < echoed; i++) {
      JsonNode v = values.get(i);
      if (v == null || !v.isNumber()) {
        throw invalid(which + "token_logprobs[" + i + "] of answer token '" + tokens.get(i).asText() + "' is " + v
            + (i == 0 ? "; the answer starts the text, and the server cannot score a text's first token: use a prompt"
                + " that is not empty" : "; expected a number"), response);
      }
      lp[i - first] = v.asDouble();
    }
    try {
      return new AnswerLogProbs(lp);
    } catch (IllegalArgumentException e) {
      throw invalid(which + e.getMessage(), response);
    }
  }

  private CompletionServerException invalid(String what, JsonNode response) {
    return new CompletionServerException("the response of " + endpoint + " " + what + "; response: "
        + CompletionServerException.excerpt(response.toString()), 200, response.toString(), null);
  }

  private static int codePoints(String s) {
    return s.codePointCount(0, s.length());
  }

  /** Posts {@code body}, retrying 429, 5xx, timeouts and connection failures; returns the parsed 2xx response. */
  private JsonNode post(ObjectNode body) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the request body: " + e.getMessage(), e);
    }
    HttpRequest.Builder request = HttpRequest.newBuilder(endpoint).timeout(requestTimeout)
        .header("Content-Type", "application/json").header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
    if (apiKey != null) {
      request.header("Authorization", "Bearer " + apiKey);
    }
    HttpRequest built = request.build();
    for (int attempt = 1; ; attempt++) {
      if (closed) {
        throw new IllegalStateException("scorer for " + endpoint + " is closed");
      }
      HttpResponse<String> response;
      try {
        response = http.send(built, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        if (attempt > maxRetries) {
          throw new CompletionServerException("POST " + endpoint + " failed after " + attempts(attempt) + ": " + e,
              -1, null, e);
        }
        LOG.debug("POST {} failed ({}); retrying", endpoint, e.toString());
        sleep(backoff(attempt, Optional.empty()));
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CompletionServerException("interrupted while posting to " + endpoint, -1, null, e);
      }
      int status = response.statusCode();
      if (status >= 200 && status < 300) {
        JsonNode json;
        try {
          json = JSON.readTree(response.body());
        } catch (JsonProcessingException e) {
          throw new CompletionServerException("POST " + endpoint + " returned HTTP " + status + " with a body that is"
              + " not JSON: " + CompletionServerException.excerpt(response.body()), status, response.body(), e);
        }
        if (json.has("error") && !json.has("choices")) {
          throw new CompletionServerException("POST " + endpoint + " returned HTTP " + status + " with an error: "
              + CompletionServerException.excerpt(response.body()), status, response.body(), null);
        }
        return json;
      }
      boolean retryable = status == 429 || status >= 500;
      if (!retryable || attempt > maxRetries) {
        throw new CompletionServerException("POST " + endpoint + " returned HTTP " + status + " after "
            + attempts(attempt) + ": " + CompletionServerException.excerpt(response.body()), status, response.body(),
            null);
      }
      LOG.debug("POST {} returned HTTP {}; retrying", endpoint, status);
      sleep(backoff(attempt, response.headers().firstValue("Retry-After")));
    }
  }

  private static String attempts(int n) {
    return n + (n == 1 ? " attempt" : " attempts");
  }

  /** initialBackoff x 2^(attempt-1), at least Retry-After (whole seconds) when given, at most maxBackoff. */
  Duration backoff(int attempt, Optional<String> retryAfter) {
    Duration wait = initialBackoff.multipliedBy(1L << Math.min(attempt - 1, 20));
    if (retryAfter.isPresent()) {
      try {
        Duration asked = Duration.ofSeconds(Long.parseLong(retryAfter.get().strip()));
        if (asked.compareTo(wait) > 0) {
          wait = asked;
        }
      } catch (NumberFormatException ignored) {
        // an HTTP date: keep the exponential wait
      }
    }
    return wait.compareTo(maxBackoff) > 0 ? maxBackoff : wait;
  }

  private void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CompletionServerException("interrupted while waiting to retry " + endpoint, -1, null, e);
    }
  }

  /** Closes the HTTP client (waiting for calls in flight); scoring afterwards fails. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      http.close();
    }
  }

  /** Builds an {@link OpenAiCompletionsScorer}. Not thread-safe; the scorer it builds is. */
  public static final class Builder {
    private final URI endpoint;
    private final String model;
    private String apiKey;
    private RewardPrompt prompt = RewardPrompt.DEFAULT;
    private LogProbReduction reduction = LogProbReduction.SUM;
    private int batchSize = 16;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration requestTimeout = Duration.ofSeconds(120);
    private int maxRetries = 3;
    private Duration initialBackoff = Duration.ofMillis(500);
    private Duration maxBackoff = Duration.ofSeconds(8);

    private Builder(URI baseUrl, String model) {
      Objects.requireNonNull(baseUrl, "baseUrl");
      if (!baseUrl.isAbsolute() || baseUrl.getHost() == null
          || !(baseUrl.getScheme().equals("http") || baseUrl.getScheme().equals("https"))) {
        throw new IllegalArgumentException("baseUrl is " + baseUrl + "; expected an absolute http(s) URL such as "
            + "http://localhost:8000");
      }
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("model is " + (model == null ? "null" : "blank")
            + "; give the name the server serves (vLLM: its --served-model-name or model path)");
      }
      String base = baseUrl.toString().replaceAll("/+$", "");
      this.endpoint = URI.create(base.endsWith("/v1") ? base + "/completions" : base + "/v1/completions");
      this.model = model;
    }

    /** Sent as {@code Authorization: Bearer <key>} (default: no header). */
    public Builder apiKey(String apiKey) {
      if (apiKey != null && apiKey.isBlank()) {
        throw new IllegalArgumentException("apiKey is blank; pass null for none");
      }
      this.apiKey = apiKey;
      return this;
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

    /** Prompts per call, at most (default 16; 1 sends one prompt per call). */
    public Builder batchSize(int batchSize) {
      if (batchSize < 1) {
        throw new IllegalArgumentException("batchSize is " + batchSize + "; must be at least 1");
      }
      this.batchSize = batchSize;
      return this;
    }

    /** How long to wait for a connection (default 10 s). */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = positive("connectTimeout", timeout);
      return this;
    }

    /** How long to wait for one call's response (default 120 s); a timeout is retried like a 5xx. */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = positive("requestTimeout", timeout);
      return this;
    }

    /** Retries of a call after 429, 5xx, a timeout or a connection failure (default 3; 0 for none). */
    public Builder maxRetries(int retries) {
      if (retries < 0 || retries > 20) {
        throw new IllegalArgumentException("maxRetries is " + retries + "; must be 0 to 20");
      }
      this.maxRetries = retries;
      return this;
    }

    /** The wait before the first retry, doubled for each next one, and its cap (defaults 500 ms and 8 s). */
    public Builder backoff(Duration initial, Duration max) {
      positive("initial backoff", initial);
      positive("max backoff", max);
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("max backoff " + max + " is below the initial backoff " + initial);
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /** The scorer; no call is made until the first {@code score}. */
    public OpenAiCompletionsScorer build() {
      return new OpenAiCompletionsScorer(this);
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " is " + d + "; must be positive");
      }
      return d;
    }
  }
}
