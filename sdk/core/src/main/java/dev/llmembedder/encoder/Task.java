package dev.llmembedder.encoder;

import java.util.Locale;

/**
 * The six retrieval tasks LLM-Embedder was trained on, each with its own query and key instruction.
 *
 * <p>Source: Zhang et al., "Retrieve Anything To Augment Large Language Models" (arXiv:2310.07554), Table 10,
 * and FlagEmbedding {@code research/llm_embedder} ({@code TASK_CONFIG["llm-embedder"]["instruction"]}).
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum Task {
  /** Question answering / knowledge retrieval: passages for a question. */
  QA,
  /** In-context learning: demonstrations for a new task input. */
  ICL,
  /** Long conversation: earlier dialogue turns for the current one. */
  CHAT,
  /** Long-range language modeling: earlier chunks of a long text for the current chunk. */
  LRLM,
  /** Tool learning: tool descriptions for a user request. */
  TOOL,
  /** Conversational search: passages for a query together with its conversation context. */
  CONVSEARCH;

  /** The task's name as LLM-Embedder's data files spell it: {@code qa}, {@code icl}, ... */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a task name as LLM-Embedder's data files spell it.
   *
   * @throws IllegalArgumentException naming {@code id} and the allowed names when it is none of them
   */
  public static Task fromId(String id) {
    if (id != null) {
      for (Task task : values()) {
        if (task.id().equals(id.trim().toLowerCase(Locale.ROOT))) {
          return task;
        }
      }
    }
    throw new IllegalArgumentException(
        "unknown task '" + id + "'; allowed: qa, icl, chat, lrlm, tool, convsearch");
  }
}
