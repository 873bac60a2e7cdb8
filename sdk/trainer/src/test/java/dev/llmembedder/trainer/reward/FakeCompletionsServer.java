package dev.llmembedder.trainer.reward;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A real HTTP server on 127.0.0.1 that answers {@code POST /v1/completions} the way vLLM does with {@code echo} and
 * {@code logprobs}: {@code choices[i].logprobs.{tokens, token_logprobs, text_offset, top_logprobs}}, offsets in code
 * points (Python string lengths of the decoded tokens), the first token's log-prob {@code null}.
 *
 * <p>Its tokenizer: a line break is a token; spaces go with the word after them (a space before a line break, an
 * emoji or the end is a token of its own); a character outside the BMP (an emoji) is two tokens, {@code ""} (its first
 * bytes, which vLLM's incremental detokenizer decodes to nothing) and the character. Each token's log-prob is
 * {@code -(codePoints + 1) / 4}: {@code "Paris"} -1.5, {@code " Paris"} -1.75, {@code ""} -0.25, an emoji -0.5.
 */
final class FakeCompletionsServer implements AutoCloseable {
  static final String BOS = "<|begin_of_text|>";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<JsonNode> requests = Collections.synchronizedList(new ArrayList<>());
  private final Deque<Integer> failures = new ArrayDeque<>();
  volatile boolean bos;
  volatile boolean rejectZeroMaxTokens;
  volatile boolean rejectLists;
  volatile boolean reverseChoices;
  volatile boolean omitLogprobs;
  volatile int fixedStatus;
  volatile long delayMillis;
  volatile String retryAfter;

  FakeCompletionsServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/completions", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** The JSON bodies received so far, in order. */
  List<JsonNode> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** The next calls fail with these statuses, in order, before any succeeds. */
  synchronized void failNext(int... statuses) {
    for (int s : statuses) {
      failures.add(s);
    }
  }

  private synchronized Integer nextFailure() {
    return failures.poll();
  }

  /** The fake tokenizer (see the class comment). */
  static List<String> tokenize(String text) {
    List<String> tokens = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    boolean word = false;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == '\n' || Character.isSupplementaryCodePoint(cp)) {
        if (!current.isEmpty()) {
          tokens.add(current.toString());
        }
        current.setLength(0);
        word = false;
        if (cp != '\n') {
          tokens.add("");
        }
        tokens.add(Character.toString(cp));
      } else if (cp == ' ') {
        if (word) {
          tokens.add(current.toString());
          current.setLength(0);
          word = false;
        }
        current.append(' ');
      } else {
        current.appendCodePoint(cp);
        word = true;
      }
    }
    if (!current.isEmpty()) {
      tokens.add(current.toString());
    }
    return tokens;
  }

  static double logProb(String token) {
    return -(token.codePointCount(0, token.length()) + 1) / 4.0;
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      JsonNode body = JSON.readTree(exchange.getRequestBody());
      requests.add(body);
      if (delayMillis > 0) {
        try {
          Thread.sleep(delayMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      Integer failure = nextFailure();
      if (failure != null) {
        if (retryAfter != null) {
          exchange.getResponseHeaders().add("Retry-After", retryAfter);
        }
        error(exchange, failure, "InternalServerError", "the engine is overloaded (fake " + failure + ")");
        return;
      }
      if (fixedStatus != 0) {
        error(exchange, fixedStatus, "NotFoundError", "The model `" + body.path("model").asText()
            + "` does not exist.");
        return;
      }
      int maxTokens = body.path("max_tokens").asInt(16);
      if (maxTokens == 0 && rejectZeroMaxTokens) {
        error(exchange, 400, "BadRequestError", "max_tokens must be at least 1, got 0.");
        return;
      }
      JsonNode prompt = body.path("prompt");
      if (prompt.isArray() && rejectLists) {
        error(exchange, 400, "BadRequestError", "prompt must be a string");
        return;
      }
      if (!body.path("echo").asBoolean(false) || body.path("logprobs").isMissingNode()) {
        error(exchange, 400, "BadRequestError", "this fake only echoes with logprobs");
        return;
      }
      List<String> prompts = new ArrayList<>();
      if (prompt.isArray()) {
        prompt.forEach(p -> prompts.add(p.asText()));
      } else {
        prompts.add(prompt.asText());
      }
      ObjectNode response = JSON.createObjectNode();
      response.put("id", "cmpl-fake").put("object", "text_completion").put("created", 1700000000L)
          .put("model", body.path("model").asText());
      ArrayNode choices = response.putArray("choices");
      List<ObjectNode> built = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        built.add(choice(i, prompts.get(i), maxTokens));
      }
      if (reverseChoices) {
        Collections.reverse(built);
      }
      built.forEach(choices::add);
      response.putObject("usage").put("prompt_tokens", 0).put("completion_tokens", maxTokens * prompts.size());
      send(exchange, 200, JSON.writeValueAsBytes(response));
    }
  }

  private ObjectNode choice(int index, String text, int maxTokens) {
    List<String> tokens = new ArrayList<>();
    if (bos) {
      tokens.add(BOS);
    }
    tokens.addAll(tokenize(text));
    if (maxTokens > 0) {
      tokens.add(" the"); // one generated token
    }
    ObjectNode choice = JSON.createObjectNode();
    choice.put("index", index);
    choice.put("text", maxTokens > 0 ? text + " the" : text);
    ObjectNode logprobs = choice.putObject("logprobs");
    ArrayNode offsets = logprobs.putArray("text_offset");
    ArrayNode values = logprobs.putArray("token_logprobs");
    ArrayNode strings = logprobs.putArray("tokens");
    ArrayNode top = logprobs.putArray("top_logprobs");
    int offset = 0;
    for (int t = 0; t < tokens.size(); t++) {
      String token = tokens.get(t);
      offsets.add(offset);
      offset += token.codePointCount(0, token.length());
      strings.add(token);
      if (t == 0) {
        values.addNull();
        top.addNull();
      } else {
        double lp = token.equals(" the") && t == tokens.size() - 1 && maxTokens > 0 ? -0.3 : logProb(token);
        values.add(lp);
        top.addObject().put(token, lp);
      }
    }
    if (omitLogprobs) {
      choice.putNull("logprobs");
    }
    choice.put("finish_reason", "length");
    choice.putNull("stop_reason");
    return choice;
  }

  private static void error(HttpExchange exchange, int status, String type, String message) throws IOException {
    ObjectNode error = JSON.createObjectNode();
    error.put("object", "error").put("message", message).put("type", type).putNull("param").put("code", status);
    send(exchange, status, JSON.writeValueAsBytes(error));
  }

  private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
