package dev.llmembedder.context;

import dev.llmembedder.context.PromptContext.DroppedHit;
import dev.llmembedder.context.PromptContext.MemorySection;
import dev.llmembedder.context.PromptContext.Section;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;

/**
 * Fluent assembly of a {@link PromptContext} for one query: name the retrievers to consult and how many hits each
 * contributes, optionally a token budget and a template, then {@link #build()}. For example
 * {@code embedder.context(question).knowledge(3).memory("book", 2).examples(2).tools(2).maxTokens(1024).build()}.
 *
 * <p><b>Retrieval.</b> {@link #build()} encodes the query once per distinct query instruction among the retrievers
 * asked for (knowledge uses the {@link Task#QA} instruction, examples {@link Task#ICL}, tools {@link Task#TOOL}, a
 * memory its mode's task; with the default BGE model they all share one instruction, so the query is encoded once),
 * then runs the searches concurrently on the executor it was given. A retriever that holds no data contributes
 * nothing; it is not an error. An exception thrown by a search is rethrown as it is (not wrapped).
 *
 * <p><b>Budget.</b> With {@link #maxTokens(int)}, when the rendered context has more tokens than the budget (counted
 * as {@link PromptContext#tokenCount()} counts), hits are dropped lowest score first, across all sections, until it
 * fits; a memory span is one hit with its score. Every kept hit thus scores at least as high as every dropped one
 * (ties: the hit later in the rendering is dropped first). A section left with no hits loses its heading too. When
 * even the best hit does not fit, every hit is dropped: the sections are empty, {@code render()} is {@code ""},
 * {@code tokenCount()} is 0 and {@code dropped()} lists them all. Each hit's rendering is counted once, and the final
 * rendering once more to check it (tokenizers that do not count concatenations additively may cost a few more
 * counts); the result always satisfies {@code tokenCount() <= maxTokens}. Without a budget nothing is tokenized
 * while building: {@link PromptContext#tokenCount()} counts on its first call.
 *
 * <p>Not thread-safe (one builder per query); the retrievers it consults are.
 */
public final class ContextBuilder {
  private static final int KNOWLEDGE = 0;
  private static final int EXAMPLES = 1;
  private static final int TOOLS = 2;
  private static final int FIRST_MEMORY = 3;

  private final String query;
  private final Encoder encoder;
  private final KnowledgeRetriever knowledgeRetriever;
  private final ExampleRetriever exampleRetriever;
  private final ToolRetriever toolRetriever;
  private final Function<String, MemoryRetriever> memories;
  private final ExecutorService executor;
  private int knowledgeK;
  private int examplesK;
  private String examplesTask;
  private int toolsK;
  private int maxTokens; // 0: no budget
  private PromptTemplate template = PromptTemplate.DEFAULT;
  private final List<MemoryRetriever> memoryRetrievers = new ArrayList<>();
  private final List<Integer> memoryKs = new ArrayList<>();

  /**
   * @param query the user's question or request; not null or only whitespace
   * @param knowledgeRetriever what {@link #knowledge(int)} consults
   * @param exampleRetriever what {@link #examples(int)} consults
   * @param toolRetriever what {@link #tools(int)} consults
   * @param memories finds a memory by name, throwing {@link IllegalArgumentException} for an unknown one
   * @param executor runs the query encodings and searches of {@link #build()}; a rejected task (a shut-down
   *     executor) makes {@code build()} throw {@link IllegalStateException}
   * @throws IllegalArgumentException if the query is null or only whitespace, or the retrievers do not share one
   *     encoder
   */
  public ContextBuilder(String query, KnowledgeRetriever knowledgeRetriever, ExampleRetriever exampleRetriever,
      ToolRetriever toolRetriever, Function<String, MemoryRetriever> memories, ExecutorService executor) {
    if (query == null || query.isBlank()) {
      throw new IllegalArgumentException("query is " + (query == null ? "null" : "only whitespace")
          + "; a context needs a query with text");
    }
    this.query = query;
    this.knowledgeRetriever = Objects.requireNonNull(knowledgeRetriever, "knowledgeRetriever");
    this.exampleRetriever = Objects.requireNonNull(exampleRetriever, "exampleRetriever");
    this.toolRetriever = Objects.requireNonNull(toolRetriever, "toolRetriever");
    this.memories = Objects.requireNonNull(memories, "memories");
    this.executor = Objects.requireNonNull(executor, "executor");
    this.encoder = knowledgeRetriever.encoder();
    sameEncoder("the example retriever", exampleRetriever.encoder());
    sameEncoder("the tool retriever", toolRetriever.encoder());
  }

  /**
   * Adds the top {@code k} knowledge passages for the query.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder knowledge(int k) {
    this.knowledgeK = checkK("knowledge", k);
    return this;
  }

  /**
   * Adds the spans of memory {@code name} that the query finds: its top {@code k} chunks, each with its continuation,
   * in stream order.
   *
   * @throws IllegalArgumentException if {@code k < 1} or there is no memory of that name
   */
  public ContextBuilder memory(String name, int k) {
    int checked = checkK("memory", k);
    MemoryRetriever memory = memories.apply(name);
    sameEncoder("memory '" + name + "'", memory.encoder());
    memoryKs.add(checked);
    memoryRetrievers.add(memory);
    return this;
  }

  /**
   * Adds the top {@code k} in-context demonstrations for the query, from every task.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder examples(int k) {
    return examples(k, null);
  }

  /**
   * Adds the top {@code k} in-context demonstrations of {@code task} (all tasks when null) for the query.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder examples(int k, String task) {
    this.examplesK = checkK("examples", k);
    this.examplesTask = task;
    return this;
  }

  /**
   * Adds the top {@code k} tools for the query (the request), each with its API for the LLM's tool list.
   *
   * @throws IllegalArgumentException if {@code k < 1}
   */
  public ContextBuilder tools(int k) {
    this.toolsK = checkK("tools", k);
    return this;
  }

  /**
   * Caps the rendered context at {@code n} tokens, as {@link PromptContext#tokenCount()} counts them: lower-scoring
   * hits are dropped first until it fits (see the class comment). Without a budget nothing is dropped.
   *
   * @throws IllegalArgumentException if {@code n < 1}
   */
  public ContextBuilder maxTokens(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("maxTokens is " + n + "; must be at least 1 (tokens of the rendered context)");
    }
    this.maxTokens = n;
    return this;
  }

  /**
   * Renders the context with {@code template} (default {@link PromptTemplate#DEFAULT}); the budget counts this
   * rendering.
   *
   * @throws IllegalArgumentException if {@code template} is null
   */
  public ContextBuilder template(PromptTemplate template) {
    if (template == null) {
      throw new IllegalArgumentException("template is null; use PromptTemplate.DEFAULT for the default rendering");
    }
    this.template = template;
    return this;
  }

  /**
   * Runs the retrievers asked for, concurrently, and returns the context, fitted to the budget when one is set.
   *
   * @throws IllegalStateException if the embedder (its encoder, indexes or executor) is closed
   * @throws RuntimeException whatever the query encoding or a search throws, as it is (an
   *     {@link IllegalArgumentException} stays one)
   */
  public PromptContext build() {
    List<?>[] results = run(searches());
    List<MemorySection> memory = new ArrayList<>(memoryRetrievers.size());
    for (int i = 0; i < memoryRetrievers.size(); i++) {
      memory.add(new MemorySection(memoryRetrievers.get(i).name(), hits(results[FIRST_MEMORY + i], MemorySpan.class)));
    }
    return fit(hits(results[KNOWLEDGE], DocumentHit.class), memory, hits(results[EXAMPLES], ExampleHit.class),
        hits(results[TOOLS], ToolHit.class));
  }

  // ------------------------------------------------------------------------------------------------ retrieval

  /**
   * One retriever to consult.
   *
   * @param slot where its result goes: {@link #KNOWLEDGE}, {@link #EXAMPLES}, {@link #TOOLS} or
   *     {@code FIRST_MEMORY + i}
   * @param task whose query instruction the query is encoded with
   * @param run the search, given the encoded query
   */
  private record Search(int slot, Task task, Function<float[], List<?>> run) {}

  /** The searches {@link #build()} runs: those asked for whose retriever holds data, in slot order. */
  private List<Search> searches() {
    List<Search> searches = new ArrayList<>();
    int kk = knowledgeK;
    int ek = examplesK;
    int tk = toolsK;
    String task = examplesTask;
    if (kk > 0 && knowledgeRetriever.size() > 0) {
      searches.add(new Search(KNOWLEDGE, Task.QA, q -> knowledgeRetriever.search(q, kk)));
    }
    if (ek > 0 && exampleRetriever.size() > 0) {
      searches.add(new Search(EXAMPLES, Task.ICL, q -> exampleRetriever.search(q, ek, task)));
    }
    if (tk > 0 && toolRetriever.size() > 0) {
      searches.add(new Search(TOOLS, Task.TOOL, q -> toolRetriever.search(q, tk)));
    }
    for (int i = 0; i < memoryRetrievers.size(); i++) {
      MemoryRetriever m = memoryRetrievers.get(i);
      int k = memoryKs.get(i);
      if (!m.isEmpty()) {
        searches.add(new Search(FIRST_MEMORY + i, m.mode().task(), q -> m.search(q, k)));
      }
    }
    return searches;
  }

  /**
   * The query encodings {@link #build()} would run now: for each distinct query instruction (the key), the tasks of
   * the retrievers that share it, in slot order (knowledge, examples, tools, memories); retrievers without data are
   * left out. For tests.
   */
  Map<String, List<Task>> encodingPlan() {
    Map<String, List<Task>> plan = new LinkedHashMap<>();
    byQueryInstruction(encoder.instructions(), searches(), Search::task)
        .forEach((instruction, group) -> plan.put(instruction, group.stream().map(Search::task).toList()));
    return plan;
  }

  /** {@code items} grouped by the query instruction of their task, groups and items in first-seen order. */
  static <T> Map<String, List<T>> byQueryInstruction(InstructionSet instructions, List<T> items,
      Function<T, Task> taskOf) {
    Map<String, List<T>> groups = new LinkedHashMap<>();
    for (T item : items) {
      groups.computeIfAbsent(instructions.forTask(taskOf.apply(item)).query(), i -> new ArrayList<>()).add(item);
    }
    return groups;
  }

  /**
   * Encodes the query once per group (the first on this thread, the others concurrently on the executor) and runs
   * every search on the executor as soon as its query is ready; the last search runs on this thread.
   *
   * @return the results by slot; null where nothing was searched
   */
  private List<?>[] run(List<Search> searches) {
    List<?>[] results = new List<?>[FIRST_MEMORY + memoryRetrievers.size()];
    if (searches.isEmpty()) {
      return results;
    }
    List<List<Search>> groups = new ArrayList<>(byQueryInstruction(encoder.instructions(), searches, Search::task)
        .values());
    List<Future<?>> pending = new ArrayList<>();
    try {
      List<Future<float[]>> encodings = new ArrayList<>(groups.size());
      for (List<Search> group : groups.subList(1, groups.size())) {
        Task task = group.get(0).task();
        Future<float[]> encoding = executor.submit(() -> encoder.encodeQuery(query, task));
        encodings.add(encoding);
        pending.add(encoding);
      }
      List<Search> submitted = new ArrayList<>(searches.size());
      List<Future<List<?>>> running = new ArrayList<>(searches.size());
      Search last = groups.get(groups.size() - 1).get(groups.get(groups.size() - 1).size() - 1);
      for (int g = 0; g < groups.size(); g++) {
        float[] q = g == 0 ? encoder.encodeQuery(query, groups.get(0).get(0).task()) : await(encodings.get(g - 1));
        for (Search s : groups.get(g)) {
          if (s == last) {
            results[s.slot()] = s.run().apply(q); // searches only read the query: they may share it
          } else {
            Future<List<?>> f = executor.submit(() -> s.run().apply(q));
            submitted.add(s);
            running.add(f);
            pending.add(f);
          }
        }
      }
      for (int i = 0; i < running.size(); i++) {
        results[submitted.get(i).slot()] = await(running.get(i));
      }
      return results;
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("cannot build the context for '" + query + "': the embedder is closed", e);
    } finally {
      pending.forEach(f -> f.cancel(false)); // after a failure, what has not started never will; no-op otherwise
    }
  }

  /** The value of {@code f}, or what its task threw, unwrapped. */
  private static <T> T await(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building a prompt context", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private static <T> List<T> hits(List<?> result, Class<T> type) {
    if (result == null) {
      return List.of();
    }
    return result.stream().map(type::cast).toList();
  }

  // --------------------------------------------------------------------------------------------------- budget

  /**
   * One hit as the budget sees it.
   *
   * @param section 0 knowledge, {@code 1..m} the memory sections, {@code m + 1} examples, {@code m + 2} tools
   * @param position its index in its section
   * @param order its index in the whole rendering
   * @param hit what is reported if it is dropped (score and tokens included)
   */
  private record Unit(int section, int position, int order, DroppedHit hit) {}

  /** Renders the context and, when it exceeds the budget, drops the lowest-scoring hits until it fits. */
  private PromptContext fit(List<DocumentHit> knowledge, List<MemorySection> memory, List<ExampleHit> examples,
      List<ToolHit> tools) {
    TokenCounter counter = new TokenCounter(encoder);
    String full = template.render(knowledge, memory, examples, tools);
    if (maxTokens == 0) { // no budget: counted if and when the caller asks
      return new PromptContext(query, knowledge, memory, examples, tools, List.of(), template, full, -1,
          counter::count);
    }
    int fullTokens = counter.count(full);
    if (fullTokens <= maxTokens) {
      return new PromptContext(query, knowledge, memory, examples, tools, List.of(), template, full, fullTokens, null);
    }
    int separator = counter.count(template.separator());
    int m = memory.size();
    String[] headings = new String[m + 3];
    headings[0] = template.knowledgeHeading();
    for (int i = 0; i < m; i++) {
      headings[1 + i] = template.memoryHeading(memory.get(i).name());
    }
    headings[m + 1] = template.examplesHeading();
    headings[m + 2] = template.toolsHeading();
    List<Unit> units = new ArrayList<>();
    for (int i = 0; i < knowledge.size(); i++) {
      DocumentHit h = knowledge.get(i);
      units.add(new Unit(0, i, units.size(), new DroppedHit(Section.KNOWLEDGE, h.document().id(), h.score(),
          counter.count(template.knowledge(h, i + 1)) + separator)));
    }
    for (int s = 0; s < m; s++) {
      MemorySection section = memory.get(s);
      for (int i = 0; i < section.spans().size(); i++) {
        MemorySpan span = section.spans().get(i);
        units.add(new Unit(1 + s, i, units.size(), new DroppedHit(Section.MEMORY,
            section.name() + ":" + span.firstChunk() + "-" + span.lastChunk(), span.score(),
            counter.count(template.memory(section.name(), span, i + 1)) + separator)));
      }
    }
    for (int i = 0; i < examples.size(); i++) {
      ExampleHit h = examples.get(i);
      units.add(new Unit(m + 1, i, units.size(), new DroppedHit(Section.EXAMPLES, h.demonstration().id(),
          h.score(), counter.count(template.example(h, i + 1)) + separator)));
    }
    for (int i = 0; i < tools.size(); i++) {
      ToolHit h = tools.get(i);
      units.add(new Unit(m + 2, i, units.size(), new DroppedHit(Section.TOOLS, h.tool().id(), h.score(),
          counter.count(template.tool(h, i + 1)) + separator)));
    }
    List<Unit> byScore = new ArrayList<>(units);
    byScore.sort(Comparator.comparingDouble((Unit u) -> u.hit().score()).reversed()); // stable: ties in render order
    // the longest prefix of byScore whose estimated rendering fits: per-hit counts plus the headings of the sections
    int[] headingTokens = new int[headings.length];
    Arrays.fill(headingTokens, -1);
    boolean[] open = new boolean[headings.length];
    int estimate = 0;
    int kept = 0;
    for (Unit u : byScore) {
      int add = u.hit().tokens();
      if (!open[u.section()]) {
        if (headingTokens[u.section()] < 0) {
          headingTokens[u.section()] = counter.count(headings[u.section()]);
        }
        add += headingTokens[u.section()];
      }
      if (estimate + add > maxTokens) {
        break;
      }
      estimate += add;
      open[u.section()] = true;
      kept++;
    }
    while (true) { // check the estimate with the real rendering; fewer hits if the tokenizer is not additive
      boolean[] keep = new boolean[units.size()];
      for (Unit u : byScore.subList(0, kept)) {
        keep[u.order()] = true;
      }
      List<DocumentHit> k = new ArrayList<>();
      List<List<MemorySpan>> spans = new ArrayList<>();
      for (int s = 0; s < m; s++) {
        spans.add(new ArrayList<>());
      }
      List<ExampleHit> e = new ArrayList<>();
      List<ToolHit> t = new ArrayList<>();
      for (Unit u : units) {
        if (!keep[u.order()]) {
          continue;
        }
        int s = u.section();
        if (s == 0) {
          k.add(knowledge.get(u.position()));
        } else if (s <= m) {
          spans.get(s - 1).add(memory.get(s - 1).spans().get(u.position()));
        } else if (s == m + 1) {
          e.add(examples.get(u.position()));
        } else {
          t.add(tools.get(u.position()));
        }
      }
      List<MemorySection> mem = new ArrayList<>(m);
      for (int s = 0; s < m; s++) {
        mem.add(new MemorySection(memory.get(s).name(), spans.get(s)));
      }
      String text = template.render(k, mem, e, t);
      int tokens = counter.count(text);
      if (tokens <= maxTokens || kept == 0) {
        List<DroppedHit> dropped = new ArrayList<>(units.size() - kept);
        for (int i = byScore.size() - 1; i >= kept; i--) {
          dropped.add(byScore.get(i).hit());
        }
        return new PromptContext(query, k, mem, e, t, dropped, template, text, tokens, null);
      }
      kept--;
    }
  }

  /**
   * Tokens as {@link PromptContext#tokenCount()} counts them: without the tokenizer's special tokens. Thread-safe (a
   * context built without a budget counts through it from any thread): {@code special} is counted again at worst.
   */
  private static final class TokenCounter {
    private final Encoder encoder;
    private int special = -1;

    TokenCounter(Encoder encoder) {
      this.encoder = encoder;
    }

    int count(String text) {
      if (text.isBlank()) {
        return 0; // the encoder refuses whitespace-only text; a BERT-like tokenizer makes no token of it
      }
      if (special < 0) {
        special = encoder.countTokens("");
      }
      return encoder.countTokens(text) - special;
    }
  }

  // ----------------------------------------------------------------------------------------------------- checks

  private void sameEncoder(String what, Encoder other) {
    if (other != encoder) {
      throw new IllegalArgumentException(what + " uses another encoder (" + other.modelName() + ") than the knowledge"
          + " retriever (" + encoder.modelName() + "); a context's retrievers must share one encoder");
    }
  }

  private static int checkK(String what, int k) {
    if (k < 1) {
      throw new IllegalArgumentException(what + " k is " + k + "; must be at least 1");
    }
    return k;
  }
}
