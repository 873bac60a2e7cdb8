package dev.llmembedder.retriever;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.ToolRetriever.KeyField;
import dev.llmembedder.retriever.ToolRetriever.ToolHit;
import dev.llmembedder.testing.SharedEncoders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tool retrieval: the file formats, the key document, retrieval of the right API, persistence, bad input. */
class ToolRetrieverTest {
  private static final Encoder encoder = SharedEncoders.fp32();

  private static final String OPENAI_TOOLS = """
      [
        {"type": "function", "function": {
          "name": "get_weather",
          "description": "Get the current weather for a city",
          "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
        {"name": "send_email",
         "description": "Send an email message to a recipient",
         "parameters": {"type": "object", "properties": {
           "to": {"type": "string", "description": "Recipient address"},
           "body": {"type": "string", "description": "Message text"}}}},
        {"type": "function", "function": {
          "name": "convert_currency",
          "description": "Convert an amount of money from one currency to another at today's exchange rate",
          "parameters": {"type": "object", "properties": {
            "amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}}}}}
      ]
      """;

  @TempDir Path dir;

  private List<Tool> openAiTools() throws IOException {
    Path file = Files.writeString(dir.resolve("tools.json"), OPENAI_TOOLS);
    return ToolRetriever.readOpenAiTools(file);
  }

  @Test
  void readsOpenAiFunctionsWithParametersAndTheApiAsWritten() throws IOException {
    List<Tool> tools = openAiTools();
    assertEquals(List.of("get_weather", "send_email", "convert_currency"), tools.stream().map(Tool::id).toList());
    Tool weather = tools.get(0);
    assertEquals("Get the current weather for a city", weather.description());
    assertEquals(List.of(new Tool.Parameter("city", "City name, e.g. Paris"), new Tool.Parameter("unit", "")),
        weather.parameters());
    ObjectMapper json = new ObjectMapper();
    assertEquals(json.readTree(OPENAI_TOOLS).get(0), json.readTree(weather.api()), "the API is the element as written");
    assertEquals("get_weather, Get the current weather for a city, parameters: city (City name, e.g. Paris), unit",
        ToolRetriever.keyText(weather, ToolRetriever.DEFAULT_KEY));
    assertEquals("Get the current weather for a city",
        ToolRetriever.keyText(weather, EnumSet.of(KeyField.DESCRIPTION)));
    assertTrue(ToolRetriever.keyText(weather, EnumSet.allOf(KeyField.class)).endsWith("api: " + weather.api()));
  }

  @Test
  void retrievesTheToolThatServesTheRequestAndHandsBackItsApi() throws IOException {
    List<Tool> tools = openAiTools();
    try (DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
      ToolRetriever retriever = new ToolRetriever(encoder, index);
      retriever.addAll(tools);
      assertEquals(3, retriever.size());
      assertEquals("get_weather", retriever.retrieve("Will it rain in London tomorrow?", 1).get(0).tool().id());
      assertEquals("send_email", retriever.retrieve("Write to bob@example.com that I am late", 1).get(0).tool().id());
      List<ToolHit> hits = retriever.retrieve("How many yen is 50 dollars?", 3);
      assertEquals("convert_currency", hits.get(0).tool().id());
      assertEquals(tools.get(2), hits.get(0).tool(), "the hit carries the whole tool, API included");
      assertTrue(hits.get(0).score() > hits.get(1).score());

      retriever.save(dir.resolve("store"));
      try (DocumentIndex reopened = DocumentIndex.open(dir.resolve("store"))) {
        ToolRetriever again = new ToolRetriever(encoder, reopened);
        assertEquals(tools.get(0), again.get("get_weather"));
        assertEquals(hits, again.retrieve("How many yen is 50 dollars?", 3));
      }
    }
  }

  @Test
  void anIdAddedAgainReplacesTheToolAndRepeatsInOneCallAreRejected() throws IOException {
    Tool weather = openAiTools().get(0);
    try (DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
      ToolRetriever retriever = new ToolRetriever(encoder, index);
      retriever.add(weather);
      Tool renamed = new Tool(weather.id(), "weather_now", "Current weather", List.of(), "{\"name\": \"weather_now\"}");
      retriever.add(renamed);
      assertEquals(1, retriever.size());
      assertEquals(renamed, retriever.get(weather.id()));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> retriever.addAll(List.of(weather, weather)));
      assertTrue(e.getMessage().contains("get_weather"), e.getMessage());
      assertEquals(renamed, retriever.get(weather.id()), "a rejected call changes nothing");
      assertTrue(retriever.delete(weather.id()));
      assertNull(retriever.get(weather.id()));
    }
  }

  @Test
  void readsJsonlWithApiAsObjectOrString() throws IOException {
    Path file = Files.writeString(dir.resolve("tools.jsonl"), """
        {"name": "slow_r50", "description": "Video classification", "api": "{\\"api_arguments\\": {\\"pretrained\\": \\"True\\"}}"}

        {"id": "t2", "name": "search", "description": "Web search", "api": {"required_parameters": [{"name": "q", "description": "query"}]}}
        {"name": "noop", "description": "Does nothing"}
        """);
    List<Tool> tools = ToolRetriever.readJsonl(file);
    assertEquals(List.of("slow_r50", "t2", "noop"), tools.stream().map(Tool::id).toList());
    assertEquals(List.of(new Tool.Parameter("pretrained", "True")), tools.get(0).parameters());
    assertEquals(List.of(new Tool.Parameter("q", "query")), tools.get(1).parameters());
    assertEquals("{}", tools.get(2).api());
  }

  @Test
  void malformedFilesNameFileLineAndField() throws IOException {
    assertMessage(Files.writeString(dir.resolve("a.json"), "[\n {\"name\": \"ok\"},\n {\"description\": \"x\"}\n]"),
        true, "a.json:3: tool 2: field 'name' is missing");
    assertMessage(Files.writeString(dir.resolve("b.json"), "[\n {\"name\": \"ok\"},\n {\"name\": 5 }\n]"),
        true, "b.json:3: tool 2: field 'name' is NUMBER");
    assertMessage(Files.writeString(dir.resolve("c.json"), "[\n {\"name\": \"ok\"},\n {\"name\": \"ok\"}\n]"),
        true, "c.json:3: tool 2: duplicate tool id 'ok', first defined on line 2");
    assertMessage(Files.writeString(dir.resolve("d.json"), "[\n {\"name\": \"ok\",\n  \"description\": }\n]"),
        true, "d.json:3:");
    assertMessage(Files.writeString(dir.resolve("e.json"), "\"tools\""), true, "e.json:1: expected a JSON array");
    assertMessage(Files.writeString(dir.resolve("f.jsonl"), "{\"name\": \"a\", \"description\": \"x\"}\n{\"name\": \"b\"}"),
        false, "f.jsonl:2: field 'description' is missing");
    assertMessage(Files.writeString(dir.resolve("g.jsonl"), "{\"name\": \"a\", \"description\": \"x\", \"api\": \"{oops\"}"),
        false, "g.jsonl:1: field 'api' is a string but not JSON");
    assertMessage(Files.writeString(dir.resolve("h.jsonl"), "{\"name\": \"a\", \"description\": \"x\"}\n{not json"),
        false, "h.jsonl:2: not valid JSON");
    assertMessage(Files.writeString(dir.resolve("i.jsonl"),
        "{\"name\": \"a\", \"description\": \"x\"}\n{\"name\": \"a\", \"description\": \"y\"}"),
        false, "i.jsonl:2: duplicate tool id 'a', first defined on line 1");
  }

  @Test
  void badArgumentsAreRejectedWithTheValueNamed() {
    try (DocumentIndex index = DocumentIndex.create(encoder.dimension())) {
      assertThrows(IllegalArgumentException.class, () -> new ToolRetriever(encoder, index, EnumSet.noneOf(KeyField.class)));
      ToolRetriever byName = new ToolRetriever(encoder, index, EnumSet.of(KeyField.NAME));
      IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
          () -> byName.add(new Tool("t", "", "Something", List.of(), null)));
      assertTrue(empty.getMessage().contains("tool t has an empty key"), empty.getMessage());
      IllegalArgumentException k = assertThrows(IllegalArgumentException.class, () -> byName.retrieve("x", 0));
      assertTrue(k.getMessage().contains("k is 0"), k.getMessage());
      IllegalArgumentException api = assertThrows(IllegalArgumentException.class,
          () -> Tool.of("t", "n", "d", "[1, 2]"));
      assertTrue(api.getMessage().contains("api of tool t is not a JSON object"), api.getMessage());
      assertThrows(IllegalArgumentException.class, () -> new Tool(" ", "n", "d", null, null));
    }
  }

  private static void assertMessage(Path file, boolean openAi, String expected) {
    IOException e = assertThrows(IOException.class,
        () -> { if (openAi) { ToolRetriever.readOpenAiTools(file); } else { ToolRetriever.readJsonl(file); } });
    assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
  }
}
