package dev.llmembedder.trainer.reward;

/**
 * A completions server failed or answered something unusable: an HTTP error status (after any retries), a timeout or
 * a connection failure (after any retries), or a response without the echoed log-probabilities.
 */
public final class CompletionServerException extends IllegalStateException {
  private static final long serialVersionUID = 1L;
  /** How much of a response body a message quotes, in characters. */
  static final int EXCERPT_CHARS = 500;

  private final int statusCode;
  private final String bodyExcerpt;

  CompletionServerException(String message, int statusCode, String body, Throwable cause) {
    super(message, cause);
    this.statusCode = statusCode;
    this.bodyExcerpt = body == null ? "" : excerpt(body);
  }

  /** The HTTP status of the last response, or -1 when none came (timeout, connection refused, interrupted). */
  public int statusCode() {
    return statusCode;
  }

  /** The start of the last response's body (at most 500 characters), or {@code ""}. */
  public String bodyExcerpt() {
    return bodyExcerpt;
  }

  static String excerpt(String body) {
    String flat = body.strip();
    return flat.length() <= EXCERPT_CHARS ? flat : flat.substring(0, EXCERPT_CHARS) + "...";
  }
}
