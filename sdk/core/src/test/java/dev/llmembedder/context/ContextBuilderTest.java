package dev.llmembedder.context;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.context.PromptContext.DroppedHit;
import dev.llmembedder.context.PromptContext.MemorySection;
import dev.llmembedder.context.PromptContext.Section;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.Instruction;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.Demonstration;
import dev.llmembedder.retriever.ExampleRetriever;
import dev.llmembedder.retriever.ExampleRetriever.ExampleHit;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.MemoryRetriever.MemorySpan;
import dev.llmembedder.retriever.MemoryRetriever.Mode;
import dev.llmembedder.retriever.Tool;
import dev.llmembedder.retriever.ToolRetriever;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import dev.llmembedder.testing.SharedEncoders;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Prompt contexts on the real embedded model (bge-small-en-v1.5, fp32) and real retrievers: the tools section, the
 * token budget, templates, one query encoding per distinct instruction, and concurrent building.
 */
class ContextBuilderTest {
  private static final Encoder encoder = SharedEncoders.fp32();

  private static final List<Document> PASSAGES = List.of(
      new Document("tides", "Tides", "Tides are caused mainly by the gravitational pull of the Moon on the oceans.",
          Map.of()),
      Document.of("rain", "Rain forms when water vapour condenses into droplets heavy enough to fall."),
      new Document("front", "Weather fronts",
          "A cold front brings a sudden drop in temperature and often heavy showers.", Map.of()),
      new Document("jvm", "JVM", "The JVM runs Java bytecode and compiles hot methods to machine code.", Map.of()),
      new Document("umbrella", "Umbrellas", "An umbrella keeps you dry in the rain; a compact one fits in a bag.",
          Map.of()));

  private static final List<Demonstration> DEMOS = List.of(
      new Demonstration("snow", "qa", "Answer the question briefly.", "Will it snow in Oslo tomorrow?",
          "Probably: the forecast says -3 degrees and snow."),
      new Demonstration("capital", "qa", "", "What is the capital of France?", "Paris"),
      new Demonstration("square", "math", "Compute.", "What is 12 * 12?", "144"));

  private static final List<Tool> TOOLS = List.of(
      tool("get_weather", "Get the current weather and the forecast for a city.",
          "location", "the city, e.g. Paris", "unit", "celsius or fahrenheit"),
      tool("calculator", "Evaluate an arithmetic expression and return the resulting number.",
          "expression", "the expression, e.g. 2 * (3 + 4)"),
      tool("send_email", "Send an email to a recipient with a subject and a body.",
          "to", "the recipient's address", "subject", "the subject line", "body", "the message"),
      tool("get_stock_price", "Get the latest market price of a company's stock by its ticker symbol.",
          "symbol", "the ticker symbol, e.g. AAPL"),
      tool("translate_text", "Translate a text from one language into another.",
          "text", "what to translate", "target_language", "the language to translate into"),
      tool("search_flights", "Find flights between two airports on a given date.",
          "origin", "departure airport", "destination", "arrival airport", "date", "the day of travel"));

  private static final List<String> CHAT = List.of(
      "Speaker 1: I am flying to Paris next week for a conference.",
      "Speaker 2: Pack a raincoat, it rains a lot there in spring.",
      "Speaker 1: My laptop battery died during the meeting this morning.",
      "Speaker 2: Did you back up your files?");

  private static final String QUESTION = "Will it rain in Paris next week?";

  private static LlmEmbedder embedder;

  /** An OpenAI function-calling tool with string parameters given as name, description pairs. */
  private static Tool tool(String name, String description, String... parameters) {
    StringBuilder properties = new StringBuilder();
    for (int i = 0; i < parameters.length; i += 2) {
      properties.append(i == 0 ? "" : ", ").append('"').append(parameters[i])
          .append("\": {\"type\": \"string\", \"description\": \"").append(parameters[i + 1]).append("\"}");
    }
    String api = "{\"type\": \"function\", \"function\": {\"name\": \"" + name + "\", \"description\": \""
        + description + "\", \"parameters\": {\"type\": \"object\", \"properties\": {" + properties
        + "}, \"required\": [\"" + parameters[0] + "\"]}}}";
    return Tool.of(name, name, description, api);
  }

  @BeforeAll
  static void fill() {
    embedder = LlmEmbedder.builder().encoder(encoder).build();
    embedder.knowledge().addAll(PASSAGES);
    embedder.examples().addAll(DEMOS);
    embedder.tools().addAll(TOOLS);
    MemoryRetriever chat = embedder.memory("chat", MemoryRetriever.Settings.of(Mode.CONVERSATION)
        .withRecentTokens(10)); // only the last turn is recent
    CHAT.forEach(chat::append);
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  /** Tokens as {@link PromptContext#tokenCount()} documents them: without [CLS] and [SEP]. */
  private static int tokens(String text) {
    return text.isEmpty() ? 0 : encoder.countTokens(text) - encoder.countTokens("");
  }

  /** A hit of any section, identified as {@link DroppedHit} identifies it. */
  private record Hit(Section section, String id, float score) {}

  private static List<Hit> kept(PromptContext c) {
    List<Hit> hits = new ArrayList<>();
    c.knowledge().forEach(h -> hits.add(new Hit(Section.KNOWLEDGE, h.document().id(), h.score())));
    for (MemorySection m : c.memory()) {
      m.spans().forEach(s -> hits.add(new Hit(Section.MEMORY, m.name() + ":" + s.firstChunk() + "-" + s.lastChunk(),
          s.score())));
    }
    c.examples().forEach(h -> hits.add(new Hit(Section.EXAMPLES, h.demonstration().id(), h.score())));
    c.tools().forEach(h -> hits.add(new Hit(Section.TOOLS, h.tool().id(), h.score())));
    return hits;
  }

  private static ContextBuilder full(String query) {
    return embedder.context(query).knowledge(4).memory("chat", 2).examples(2).tools(3);
  }

  // ---------------------------------------------------------------------------------------------------- tools

  @Test
  void theToolsSectionHoldsTheToolThatServesTheRequest() {
    Map<String, String> requests = Map.of(
        "What will the weather be like in Paris tomorrow?", "get_weather",
        "What is 17 multiplied by 23?", "calculator",
        "Email Bob that I will be late for the meeting", "send_email",
        "How much does one share of Apple cost right now?", "get_stock_price",
        "How do you say good morning in Japanese?", "translate_text",
        "I need a plane from Berlin to Rome on Friday", "search_flights");
    requests.forEach((request, expected) -> {
      PromptContext context = embedder.context(request).tools(2).build();
      assertEquals(2, context.tools().size());
      ToolHit best = context.tools().get(0);
      assertEquals(expected, best.tool().id(), request + " -> " + context.tools());
      assertTrue(best.score() > context.tools().get(1).score());
      assertEquals(embedder.tools().get(expected).api(), best.tool().api());
      assertTrue(best.tool().api().contains("\"name\":\"" + expected + "\""), best.tool().api());
      // rendered under "Tools:" as "name: description" and the API's JSON on the next line
      assertTrue(context.render().startsWith("Tools:\n" + expected + ": " + best.tool().description() + "\n"
          + best.tool().api() + "\n\n" + context.tools().get(1).tool().name() + ": "), context.render());
      assertEquals(tokens(context.render()), context.tokenCount());
    });
    // tools join the other sections, after them
    PromptContext all = full("What will the weather be like in Paris tomorrow?").build();
    assertEquals("get_weather", all.tools().get(0).tool().id());
    assertTrue(all.render().indexOf("\n\nTools:\nget_weather: ") > all.render().indexOf("Examples:\n"),
        all.render());
  }

  // --------------------------------------------------------------------------------------------------- budget

  @Test
  void theBudgetDropsTheLowestScoringHitsFirstUntilTheRenderingFits() {
    PromptContext whole = full(QUESTION).build();
    List<Hit> all = kept(whole);
    assertEquals(List.of(4, 2, 3), List.of(whole.knowledge().size(), whole.examples().size(), whole.tools().size()));
    assertFalse(whole.memory().get(0).spans().isEmpty(), "the chat's turns outside the recent window are found");
    assertFalse(whole.truncated());
    assertEquals(List.of(), whole.dropped());
    assertEquals(tokens(whole.render()), whole.tokenCount());
    assertTrue(whole.tokenCount() > 100, whole.tokenCount() + " tokens");
    Hit lowest = all.stream().min(Comparator.comparingDouble(Hit::score)).orElseThrow();

    // a budget the whole context meets exactly drops nothing
    PromptContext exact = full(QUESTION).maxTokens(whole.tokenCount()).build();
    assertEquals(whole.render(), exact.render());
    assertFalse(exact.truncated());

    // one token less drops exactly the lowest-scoring hit of all sections
    PromptContext oneLess = full(QUESTION).maxTokens(whole.tokenCount() - 1).build();
    assertTrue(oneLess.truncated());
    assertEquals(1, oneLess.dropped().size(), oneLess.dropped().toString());
    DroppedHit d = oneLess.dropped().get(0);
    assertEquals(lowest, new Hit(d.section(), d.id(), d.score()));
    assertTrue(oneLess.tokenCount() < whole.tokenCount());

    for (int budget : List.of(whole.tokenCount() - 1, whole.tokenCount() * 3 / 4, whole.tokenCount() / 2,
        whole.tokenCount() / 4, 40)) {
      PromptContext c = full(QUESTION).maxTokens(budget).build();
      String at = "budget " + budget + ": " + c.dropped();
      assertTrue(c.tokenCount() <= budget, at + " has " + c.tokenCount() + " tokens");
      assertEquals(tokens(c.render()), c.tokenCount(), at);
      assertTrue(c.truncated(), at);
      // kept and dropped hits are the whole context's hits, and every kept hit scores at least every dropped one
      List<Hit> kept = kept(c);
      List<Hit> dropped = c.dropped().stream().map(h -> new Hit(h.section(), h.id(), h.score())).toList();
      Set<Hit> union = new HashSet<>(kept);
      union.addAll(dropped);
      assertEquals(new HashSet<>(all), union, at);
      assertEquals(all.size(), kept.size() + dropped.size(), at);
      float minKept = (float) kept.stream().mapToDouble(Hit::score).min().orElse(Double.POSITIVE_INFINITY);
      float maxDropped = (float) dropped.stream().mapToDouble(Hit::score).max().orElseThrow();
      assertTrue(minKept >= maxDropped, at);
      for (int i = 1; i < dropped.size(); i++) {
        assertTrue(dropped.get(i - 1).score() <= dropped.get(i).score(), "dropped lowest first: " + at);
      }
      // and no more was dropped than needed: the best dropped hit (with its heading if its section is empty) would
      // not have fitted
      DroppedHit next = c.dropped().get(c.dropped().size() - 1);
      int heading = kept.stream().anyMatch(h -> h.section() == next.section()) ? 0 : tokens(switch (next.section()) {
        case KNOWLEDGE -> "Knowledge:";
        case MEMORY -> "Memory (chat):";
        case EXAMPLES -> "Examples:";
        case TOOLS -> "Tools:";
      });
      assertTrue(c.tokenCount() + heading + next.tokens() > budget, at + " left out " + next + " needlessly");
      assertTrue(next.tokens() > 0, at);
      // each section keeps its best hits, in their order
      assertEquals(whole.knowledge().subList(0, c.knowledge().size()), c.knowledge(), at);
      assertEquals(whole.tools().subList(0, c.tools().size()), c.tools(), at);
      // a section that lost all its hits loses its heading
      assertEquals(!c.knowledge().isEmpty(), c.render().contains("Knowledge:\n"), at);
      assertEquals(!c.tools().isEmpty(), c.render().contains("Tools:\n"), at);
      assertEquals(1, c.memory().size(), "the memory section stays, possibly empty: " + at);
    }
  }

  @Test
  void withoutABudgetTheTokensAreCountedOnTheFirstAskAndNeedTheEncoderOpenThen() {
    PromptContext lazy = full(QUESTION).build();
    assertTrue(lazy.toString().contains("tokens not counted yet"), lazy.toString());
    int n = lazy.tokenCount();
    assertEquals(tokens(lazy.render()), n);
    assertTrue(n > 100, n + " tokens");
    assertEquals(n, lazy.tokenCount());
    assertTrue(lazy.toString().contains(n + " tokens"), lazy.toString());
    // with a budget the count is made while building, and is the same
    assertEquals(n, full(QUESTION).maxTokens(n).build().tokenCount());

    Encoder own = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15).queryCacheSize(0).build();
    PromptContext counted;
    PromptContext uncounted;
    try (LlmEmbedder e = LlmEmbedder.builder().encoder(own).build()) {
      e.knowledge().addAll(PASSAGES);
      counted = e.context(QUESTION).knowledge(2).build();
      counted.tokenCount();
      uncounted = e.context(QUESTION).knowledge(2).build();
    }
    own.close();
    assertEquals(tokens(counted.render()), counted.tokenCount(), "a count made before closing stays");
    IllegalStateException closed = assertThrows(IllegalStateException.class, uncounted::tokenCount);
    assertTrue(closed.getMessage().contains("is closed") && closed.getMessage().contains("before closing"),
        closed.getMessage());
    assertTrue(uncounted.toString().contains("tokens not counted yet"), uncounted.toString());
    assertEquals(counted.render(), uncounted.render());
  }

  @Test
  void aBudgetBelowEveryHitDropsEverythingAndSaysSo() {
    PromptContext whole = full(QUESTION).build();
    int hits = kept(whole).size();
    PromptContext none = full(QUESTION).maxTokens(1).build();
    assertEquals("", none.render());
    assertEquals(0, none.tokenCount());
    assertTrue(none.truncated());
    assertEquals(hits, none.dropped().size());
    assertEquals(List.of(), kept(none));
    assertEquals(List.of(new MemorySection("chat", List.of())), none.memory());
    assertTrue(none.dropped().stream().allMatch(h -> h.tokens() > 1), none.dropped().toString());
    // the smallest budget that fits the best hit and its heading keeps exactly that hit
    DroppedHit best = none.dropped().get(hits - 1);
    assertEquals(kept(whole).stream().mapToDouble(Hit::score).max().orElseThrow(), best.score(), 0f);
    String heading = switch (best.section()) {
      case KNOWLEDGE -> "Knowledge:";
      case MEMORY -> "Memory (chat):";
      case EXAMPLES -> "Examples:";
      case TOOLS -> "Tools:";
    };
    PromptContext one = full(QUESTION).maxTokens(tokens(heading) + best.tokens()).build();
    assertEquals(List.of(new Hit(best.section(), best.id(), best.score())), kept(one));
    assertEquals(hits - 1, one.dropped().size());

    var zero = assertThrows(IllegalArgumentException.class, () -> embedder.context(QUESTION).maxTokens(0));
    assertTrue(zero.getMessage().contains("maxTokens is 0"), zero.getMessage());
    var negative = assertThrows(IllegalArgumentException.class, () -> embedder.context(QUESTION).maxTokens(-5));
    assertTrue(negative.getMessage().contains("-5") && negative.getMessage().contains("at least 1"),
        negative.getMessage());
  }

  // ------------------------------------------------------------------------------------------------ templates

  /** {@code PromptContext.render()} as it was before templates, verbatim. */
  private static String formerRender(PromptContext c) {
    StringBuilder out = new StringBuilder();
    if (!c.knowledge().isEmpty()) {
      out.append("Knowledge:\n");
      int n = 1;
      for (DocumentHit hit : c.knowledge()) {
        out.append('[').append(n++).append("] ");
        if (!hit.document().title().isEmpty()) {
          out.append(hit.document().title()).append('\n');
        }
        out.append(hit.document().text()).append("\n\n");
      }
    }
    for (MemorySection section : c.memory()) {
      if (!section.spans().isEmpty()) {
        out.append("Memory (").append(section.name()).append("):\n");
        for (MemorySpan span : section.spans()) {
          out.append(span.text().strip()).append("\n\n");
        }
      }
    }
    if (!c.examples().isEmpty()) {
      out.append("Examples:\n").append(ExampleRetriever.render(c.examples(), ExampleRetriever.DEFAULT_TEMPLATE))
          .append("\n\n");
    }
    return out.toString().stripTrailing();
  }

  @Test
  void theDefaultTemplateReproducesTheFormerRendering() {
    assertEquals(PromptTemplate.DEFAULT, PromptTemplate.builder().build());
    try (LlmEmbedder e = LlmEmbedder.builder().encoder(encoder).build()) {
      e.knowledge().addAll(PASSAGES); // titled and untitled passages
      e.examples().addAll(List.of(DEMOS.get(0), DEMOS.get(1), // with and without an instruction
          new Demonstration("indented", "qa", "  \tMind the indent.", "Where is Rome?", "Italy"),
          new Demonstration("blank", "qa", " ", "Where is Oslo?", "Norway")));
      MemoryRetriever log = e.memory("log", new MemoryRetriever.Settings(Mode.DOCUMENT, 12, 12));
      log.append("The expedition left the harbour at dawn.\n\n  It sailed north for three days through fog and rain."
          + "\n\nOn the fourth day the crew sighted land: a grey island with steep cliffs.\n\n"
          + "They anchored in a bay and rowed ashore at noon.  \n\nLater the weather turned and a storm came in.");
      for (String query : List.of(QUESTION, "Where is Rome?", "What did the crew see on the fourth day?")) {
        PromptContext c = e.context(query).knowledge(5).memory("log", 3).examples(4).build();
        assertFalse(c.memory().get(0).spans().isEmpty(), query);
        assertEquals(4, c.examples().size());
        assertEquals(formerRender(c), c.render(), query);
        assertEquals(c.render(), e.context(query).knowledge(5).memory("log", 3).examples(4)
            .template(PromptTemplate.builder().build()).build().render());
      }
      assertEquals("", e.context("anything").build().render());
    }
  }

  @Test
  void aCustomTemplateIsAppliedAndBudgeted() {
    PromptTemplate template = PromptTemplate.builder()
        .knowledgeHeading("## Sources\n").knowledgeHit("- ({score}) {title}: {text}")
        .memoryHeading("## From {name}\n").memoryHit("[{first}-{last}] {text}")
        .examplesHeading("## Demos\n").exampleHit("Q: {input}\nA: {output}")
        .toolsHeading("## Tools\n").toolHit("{n}. {name} {api}")
        .separator("\n").build();
    PromptContext c = embedder.context(QUESTION).knowledge(2).memory("chat", 1).examples(1).tools(2)
        .template(template).build();
    assertEquals(template, c.template());
    StringBuilder expected = new StringBuilder("## Sources\n");
    for (DocumentHit h : c.knowledge()) {
      expected.append("- (").append(String.format(Locale.ROOT, "%.4f", h.score())).append(") ")
          .append(h.document().title()).append(": ").append(h.document().text()).append('\n');
    }
    expected.append("## From chat\n");
    for (MemorySpan s : c.memory().get(0).spans()) {
      expected.append('[').append(s.firstChunk()).append('-').append(s.lastChunk()).append("] ")
          .append(s.text().strip()).append('\n');
    }
    ExampleHit ex = c.examples().get(0);
    expected.append("## Demos\nQ: ").append(ex.demonstration().input()).append("\nA: ")
        .append(ex.demonstration().output()).append('\n');
    expected.append("## Tools\n");
    for (int i = 0; i < c.tools().size(); i++) {
      Tool t = c.tools().get(i).tool();
      expected.append(i + 1).append(". ").append(t.name()).append(' ').append(t.api()).append('\n');
    }
    assertEquals(expected.toString().stripTrailing(), c.render());
    assertEquals(tokens(c.render()), c.tokenCount());
    assertNotEquals(c.render(), embedder.context(QUESTION).knowledge(2).memory("chat", 1).examples(1).tools(2)
        .build().render());

    // the budget counts the custom rendering
    PromptContext half = embedder.context(QUESTION).knowledge(2).memory("chat", 1).examples(1).tools(2)
        .template(template).maxTokens(c.tokenCount() / 2).build();
    assertTrue(half.truncated());
    assertTrue(half.tokenCount() <= c.tokenCount() / 2, half.tokenCount() + " tokens");
    assertEquals(tokens(half.render()), half.tokenCount());
    assertTrue(half.render().startsWith("## ") && !half.render().contains("Knowledge:")
        && !half.render().contains("Memory (") && !half.render().contains("Input: "), half.render());

    // values are not scanned for placeholders; braces that are not placeholders are text
    try (LlmEmbedder e = LlmEmbedder.builder().encoder(encoder).build()) {
      e.knowledge().add(new Document("t", "Templates", "A placeholder such as {title} or {n} is replaced once.",
          Map.of()));
      PromptContext braces = e.context("placeholders").knowledge(1)
          .template(PromptTemplate.builder().knowledgeHeading("{ \"passages\": }\n").knowledgeHit("{title}: {text}")
              .build()).build();
      assertEquals("{ \"passages\": }\nTemplates: A placeholder such as {title} or {n} is replaced once.",
          braces.render());
    }
  }

  @Test
  void badTemplatesAreRefusedNamingTheFieldAndPlaceholder() {
    var unknown = assertThrows(IllegalArgumentException.class,
        () -> PromptTemplate.builder().toolHit("{name} {parameters}").build());
    assertTrue(unknown.getMessage().contains("toolHit") && unknown.getMessage().contains("{parameters}")
        && unknown.getMessage().contains("{api}"), unknown.getMessage());
    var heading = assertThrows(IllegalArgumentException.class,
        () -> PromptTemplate.builder().knowledgeHeading("Knowledge ({n}):\n").build());
    assertTrue(heading.getMessage().contains("knowledgeHeading") && heading.getMessage().contains("none"),
        heading.getMessage());
    var nul = assertThrows(IllegalArgumentException.class, () -> PromptTemplate.builder().separator(null).build());
    assertTrue(nul.getMessage().contains("separator"), nul.getMessage());
    var none = assertThrows(IllegalArgumentException.class, () -> embedder.context(QUESTION).template(null));
    assertTrue(none.getMessage().contains("template is null"), none.getMessage());
  }

  // ------------------------------------------------------------------------------------------ encoding, threads

  @Test
  void queriesAreGroupedByTheirQueryInstruction() {
    List<Task> tasks = List.of(Task.QA, Task.ICL, Task.TOOL, Task.CHAT, Task.LRLM);
    Map<String, List<Task>> bge = ContextBuilder.byQueryInstruction(InstructionSet.BGE_V15, tasks, t -> t);
    assertEquals(Map.of(InstructionSet.BGE_V15.forTask(Task.QA).query(), tasks), bge);
    assertEquals(5, ContextBuilder.byQueryInstruction(InstructionSet.LLM_EMBEDDER, tasks, t -> t).size());
    // a set where qa and tool share their query instruction: three encodings, groups in first-seen order
    Map<Task, Instruction> byTask = new EnumMap<>(InstructionSet.LLM_EMBEDDER.byTask());
    byTask.put(Task.TOOL, byTask.get(Task.QA));
    byTask.put(Task.LRLM, new Instruction(byTask.get(Task.ICL).query(), "key: "));
    Map<String, List<Task>> mixed =
        ContextBuilder.byQueryInstruction(new InstructionSet("mixed", byTask), tasks, t -> t);
    assertEquals(List.of(List.of(Task.QA, Task.TOOL), List.of(Task.ICL, Task.LRLM), List.of(Task.CHAT)),
        List.copyOf(mixed.values()));

    // the default model: one encoding for all four retrievers
    Map<String, List<Task>> plan = full(QUESTION).encodingPlan();
    assertEquals(1, plan.size(), plan.toString());
    assertEquals(List.of(Task.QA, Task.ICL, Task.TOOL, Task.CHAT), plan.values().iterator().next());
    // a retriever with no data is not searched, so its query is not encoded
    try (LlmEmbedder e = LlmEmbedder.builder().encoder(encoder).build()) {
      e.tools().addAll(TOOLS);
      e.memory("empty");
      assertEquals(List.of(List.of(Task.TOOL)), List.copyOf(
          e.context(QUESTION).knowledge(2).examples(2).tools(2).memory("empty", 1).encodingPlan().values()));
      assertEquals(Map.of(), e.context(QUESTION).knowledge(2).encodingPlan());
      assertEquals(List.of(), e.context(QUESTION).knowledge(2).build().knowledge());
    }
  }

  @Test
  void withPerTaskInstructionsEachRetrieverGetsItsOwnEncoding() {
    try (Encoder llmEmbedder = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8)
        .instructions(InstructionSet.LLM_EMBEDDER).build();
        LlmEmbedder e = LlmEmbedder.builder().encoder(llmEmbedder).build()) {
      e.knowledge().addAll(PASSAGES);
      e.examples().addAll(DEMOS);
      e.tools().addAll(TOOLS);
      MemoryRetriever chat = e.memory("chat", MemoryRetriever.Settings.of(Mode.CONVERSATION).withRecentTokens(10));
      CHAT.forEach(chat::append);
      ContextBuilder builder = e.context(QUESTION).knowledge(3).examples(2).tools(3).memory("chat", 2);
      assertEquals(4, builder.encodingPlan().size(), builder.encodingPlan().toString());
      PromptContext c = builder.build();
      // each section equals its retriever's own retrieval, which encodes with that retriever's instruction
      assertEquals(e.knowledge().retrieve(QUESTION, 3), c.knowledge());
      assertEquals(e.examples().retrieve(QUESTION, 2), c.examples());
      assertEquals(e.tools().retrieve(QUESTION, 3), c.tools());
      assertEquals(chat.retrieve(QUESTION, 2), c.memory().get(0).spans());
      assertNotEquals(e.knowledge().search(llmEmbedder.encodeQuery(QUESTION, Task.TOOL), 3), c.knowledge(),
          "the instructions differ enough to change the scores");
    }
  }

  /** Everything a context holds, scores to the last bit included. */
  private static String signature(PromptContext c) {
    return c.render() + "|" + c.tokenCount() + "|" + c.knowledge() + c.memory() + c.examples() + c.tools() + "|"
        + c.dropped();
  }

  @Test
  void concurrentBuildsGiveTheSameContextsAsSequentialOnes() throws Exception {
    List<String> queries = List.of("Is it going to pour in Paris during the conference?",
        "Which airline flies from Berlin to Rome?", "What does the JVM do with hot methods?",
        "Why does the sea rise and fall twice a day?", "Compute the square of twelve",
        "Should I take an umbrella to the meeting?");
    int threads = 8;
    int rounds = 3;
    ExecutorService callers = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int offset = t;
        futures.add(callers.submit(() -> {
          start.await();
          List<String> out = new ArrayList<>();
          for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < queries.size(); i++) {
              String q = queries.get((i + offset) % queries.size()); // threads start on different queries
              int budget = 60 + 40 * ((i + r) % 4);
              out.add(q + " @" + budget + ": " + signature(full(q).maxTokens(budget).build()));
              out.add(q + ": " + signature(full(q).build()));
            }
          }
          out.sort(null);
          return out;
        }));
      }
      start.countDown();
      List<List<String>> concurrent = new ArrayList<>();
      for (Future<List<String>> f : futures) {
        concurrent.add(f.get(5, TimeUnit.MINUTES));
      }
      for (int t = 0; t < threads; t++) { // the same builds, one after the other
        List<String> sequential = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
          for (int i = 0; i < queries.size(); i++) {
            String q = queries.get((i + t) % queries.size());
            int budget = 60 + 40 * ((i + r) % 4);
            PromptContext fitted = full(q).maxTokens(budget).build();
            assertTrue(fitted.tokenCount() <= budget);
            sequential.add(q + " @" + budget + ": " + signature(fitted));
            sequential.add(q + ": " + signature(full(q).build()));
          }
        }
        sequential.sort(null);
        assertEquals(sequential, concurrent.get(t), "thread " + t);
      }
      assertTrue(concurrent.get(0).stream().anyMatch(s -> s.contains("DroppedHit")), "some budgets dropped hits");
    } finally {
      callers.shutdownNow();
    }
  }

  // ------------------------------------------------------------------------------------------------ bad input

  @Test
  void badInputIsRejectedAndNothingStoredIsTouched() {
    String before = signature(full(QUESTION).build());
    int passages = embedder.knowledge().size();
    int tools = embedder.tools().size();
    int examples = embedder.examples().size();
    int turns = embedder.memory("chat").chunks().size();
    for (int k : List.of(0, -2)) {
      List<Runnable> calls = List.of(() -> embedder.context(QUESTION).knowledge(k),
          () -> embedder.context(QUESTION).memory("chat", k), () -> embedder.context(QUESTION).examples(k),
          () -> embedder.context(QUESTION).examples(k, "qa"), () -> embedder.context(QUESTION).tools(k));
      for (Runnable call : calls) {
        var e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains("k is " + k) && e.getMessage().contains("at least 1"), e.getMessage());
      }
    }
    var unknown = assertThrows(IllegalArgumentException.class,
        () -> embedder.context(QUESTION).knowledge(2).memory("book", 2));
    assertTrue(unknown.getMessage().contains("unknown memory 'book'") && unknown.getMessage().contains("[chat]"),
        unknown.getMessage());
    var blank = assertThrows(IllegalArgumentException.class, () -> embedder.context("\t"));
    assertTrue(blank.getMessage().contains("whitespace"), blank.getMessage());
    assertEquals(passages, embedder.knowledge().size());
    assertEquals(tools, embedder.tools().size());
    assertEquals(examples, embedder.examples().size());
    assertEquals(turns, embedder.memory("chat").chunks().size());
    assertEquals(before, signature(full(QUESTION).build()));
  }

  @Test
  void anExceptionFromASearchIsRethrownUnwrapped() {
    ExecutorService executor = Executors.newFixedThreadPool(2);
    try (DocumentIndex knowledgeIndex = DocumentIndex.create(encoder.dimension());
        DocumentIndex exampleIndex = DocumentIndex.create(encoder.dimension());
        DocumentIndex toolIndex = DocumentIndex.create(encoder.dimension());
        DocumentIndex brokenIndex = DocumentIndex.create(encoder.dimension());
        DocumentIndex okIndex = DocumentIndex.create(encoder.dimension())) {
      KnowledgeRetriever knowledge = new KnowledgeRetriever(encoder, knowledgeIndex);
      knowledge.addAll(PASSAGES);
      MemoryRetriever broken = new MemoryRetriever(encoder, brokenIndex, "broken",
          MemoryRetriever.Settings.of(Mode.CONVERSATION).withRecentTokens(0));
      MemoryRetriever ok = new MemoryRetriever(encoder, okIndex, "ok",
          MemoryRetriever.Settings.of(Mode.CONVERSATION).withRecentTokens(0));
      CHAT.forEach(broken::append);
      CHAT.forEach(ok::append);
      Map<String, MemoryRetriever> memories = Map.of("broken", broken, "ok", ok);
      ContextBuilder builder = new ContextBuilder(QUESTION, knowledge, new ExampleRetriever(encoder, exampleIndex),
          new ToolRetriever(encoder, toolIndex), memories::get, executor)
          .knowledge(2).memory("broken", 1).memory("ok", 1); // the broken memory is searched on the executor
      assertEquals(2, builder.build().knowledge().size());
      brokenIndex.close();
      var e = assertThrows(IllegalStateException.class, builder::build);
      assertEquals(IllegalStateException.class, e.getClass());
      assertEquals("this DocumentIndex is closed", e.getMessage(), "the index's own exception, not a wrapper");
      assertEquals(null, e.getCause());
      var bad = assertThrows(IllegalArgumentException.class, () -> ok.search(new float[3], 1));
      assertTrue(bad.getMessage().contains("3"), bad.getMessage());
    } finally {
      executor.shutdownNow();
    }
    // a builder made before the embedder was closed fails with IllegalStateException when built after
    LlmEmbedder closing = LlmEmbedder.builder().encoder(encoder).build();
    closing.knowledge().addAll(PASSAGES);
    ContextBuilder late = closing.context(QUESTION).knowledge(2).tools(1);
    closing.close();
    assertThrows(IllegalStateException.class, late::build);
  }
}
