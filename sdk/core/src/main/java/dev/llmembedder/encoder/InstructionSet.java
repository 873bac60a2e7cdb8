package dev.llmembedder.encoder;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * The instructions a model was trained with, per {@link Task}. Every {@link ModelPreset} and
 * {@link ModelFamily} knows its set, so callers name a task and never type an instruction.
 *
 * <p>Immutable and thread-safe.
 *
 * @param name a short label for logs and reports
 * @param byTask the instruction for each of the six tasks (all six present)
 */
public record InstructionSet(String name, Map<Task, Instruction> byTask) {

  /**
   * LLM-Embedder's instructions, verbatim from FlagEmbedding {@code research/llm_embedder}
   * ({@code TASK_CONFIG["llm-embedder"]["instruction"]}) and the paper's Table 10.
   */
  public static final InstructionSet LLM_EMBEDDER = new InstructionSet("llm-embedder", Map.of(
      Task.QA, new Instruction(
          "Represent this query for retrieving relevant documents: ",
          "Represent this document for retrieval: "),
      Task.CONVSEARCH, new Instruction(
          "Encode this query and context for searching relevant passages: ",
          "Encode this passage for retrieval: "),
      Task.CHAT, new Instruction(
          "Embed this dialogue to find useful historical dialogues: ",
          "Embed this historical dialogue for retrieval: "),
      Task.LRLM, new Instruction(
          "Embed this text chunk for finding useful historical chunks: ",
          "Embed this historical text chunk for retrieval: "),
      Task.ICL, new Instruction(
          "Convert this example into vector to look for useful examples: ",
          "Convert this example into vector for retrieval: "),
      Task.TOOL, new Instruction(
          "Transform this user request for fetching helpful tool descriptions: ",
          "Transform this tool description for retrieval: ")));

  /**
   * BGE v1.5's retrieval instruction: {@code "Represent this sentence for searching relevant passages: "} on
   * queries, nothing on passages, for every task (BAAI/bge-small-en-v1.5 model card, "query_instruction_for_retrieval").
   */
  public static final InstructionSet BGE_V15 = uniform("bge-v1.5",
      new Instruction("Represent this sentence for searching relevant passages: ", ""));

  /** E5's prefixes: {@code "query: "} and {@code "passage: "} for every task (intfloat/e5 model cards). */
  public static final InstructionSet E5 = uniform("e5", new Instruction("query: ", "passage: "));

  /** No instruction for any task. */
  public static final InstructionSet NONE = uniform("none", Instruction.NONE);

  /**
   * @throws IllegalArgumentException naming the missing tasks when {@code byTask} lacks any of the six
   */
  public InstructionSet {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(byTask, "byTask");
    EnumMap<Task, Instruction> copy = new EnumMap<>(Task.class);
    copy.putAll(byTask);
    if (copy.size() != Task.values().length) {
      EnumMap<Task, Instruction> missing = new EnumMap<>(Task.class);
      for (Task t : Task.values()) {
        if (!copy.containsKey(t)) {
          missing.put(t, Instruction.NONE);
        }
      }
      throw new IllegalArgumentException(
          "instruction set '" + name + "' lacks tasks " + missing.keySet() + "; all six are required");
    }
    byTask = Map.copyOf(copy);
  }

  /** One instruction for every task (models trained with a single query/passage prefix, such as BGE and E5). */
  public static InstructionSet uniform(String name, Instruction instruction) {
    EnumMap<Task, Instruction> all = new EnumMap<>(Task.class);
    for (Task t : Task.values()) {
      all.put(t, instruction);
    }
    return new InstructionSet(name, all);
  }

  /** The instruction pair for {@code task}. */
  public Instruction forTask(Task task) {
    return byTask.get(Objects.requireNonNull(task, "task"));
  }
}
