package dev.llmembedder.langchain4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.rag.AugmentationRequest;
import dev.langchain4j.rag.AugmentationResult;
import dev.langchain4j.rag.DefaultRetrievalAugmentor;
import dev.langchain4j.rag.content.Content;
import dev.langchain4j.rag.content.ContentMetadata;
import dev.langchain4j.rag.content.retriever.ContentRetriever;
import dev.langchain4j.rag.content.retriever.EmbeddingStoreContentRetriever;
import dev.langchain4j.rag.query.Metadata;
import dev.langchain4j.rag.query.Query;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.store.embedding.inmemory.InMemoryEmbeddingStore;
import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.index.Document;
import dev.llmembedder.retriever.Demonstration;
import dev.llmembedder.retriever.MemoryRetriever;
import dev.llmembedder.retriever.Tool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The adapters against LangChain4j's own classes, over the real embedded int8 model. */
class LangChain4jIntegrationTest {
  private static final List<Document> PASSAGES = List.of(
      new Document("tides", "Tides", "Tides are caused by the gravitational pull of the Moon and the Sun on the oceans.",
          Map.of("source", "ocean-faq")),
      Document.of("bread", "Bread rises because yeast ferments sugars and releases carbon dioxide gas."),
      Document.of("python", "Python is a programming language created by Guido van Rossum."),
      Document.of("everest", "Mount Everest is the highest mountain above sea level, in the Himalayas."));

  private static Encoder encoder;
  private static LlmEmbedder embedder;

  @BeforeAll
  static void load() {
    encoder = Encoder.load(ModelPreset.BGE_SMALL_EN_V15_INT8);
    embedder = LlmEmbedder.builder().encoder(encoder).build();
    embedder.knowledge().addAll(PASSAGES);
  }

  @AfterAll
  static void close() {
    embedder.close();
    encoder.close();
  }

  private static List<TextSegment> segments(List<String> texts) {
    return texts.stream().map(TextSegment::from).toList();
  }

  private static float[][] vectors(List<Embedding> embeddings) {
    return embeddings.stream().map(Embedding::vector).toArray(float[][]::new);
  }

  @Test
  void embeddingModelEqualsTheEncoderForEachRole() {
    List<String> texts = List.of("What causes tides?", "How does yeast make bread rise?", "highest mountain");
    EmbeddingModel queries = LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA);
    EmbeddingModel keys = LlmEmbedderEmbeddingModel.forKeys(encoder, Task.QA);
    EmbeddingModel plain = LlmEmbedderEmbeddingModel.withInstruction(encoder, "");

    float[][] q = vectors(queries.embedAll(segments(texts)).content());
    assertArrayEquals(encoder.encodeQueries(texts, Task.QA), q);
    assertArrayEquals(encoder.encodeKeys(texts, Task.QA), vectors(keys.embedAll(segments(texts)).content()));
    assertArrayEquals(encoder.encode(texts, "", encoder.maxTokens()),
        vectors(plain.embedAll(segments(texts)).content()));
    // bge's qa query instruction is a real prefix: the roles must differ
    assertTrue(Math.abs(dot(q[0], vectors(keys.embedAll(segments(texts)).content())[0]) - 1) > 1e-3);
    // LangChain4j's single-text defaults go through embedAll
    assertArrayEquals(encoder.encodeQueries(List.of(texts.get(0)), Task.QA), new float[][] {
        queries.embed(texts.get(0)).content().vector()});
    assertEquals(384, queries.dimension());
    assertEquals("bge-small-en-v1.5-int8", queries.modelName());
  }

  @Test
  void inMemoryEmbeddingStoreWithKeysIngestedAndQueriesSearched() {
    InMemoryEmbeddingStore<TextSegment> store = new InMemoryEmbeddingStore<>();
    List<TextSegment> segments = segments(PASSAGES.stream().map(Document::text).toList());
    List<Embedding> keys = LlmEmbedderEmbeddingModel.forKeys(encoder, Task.QA).embedAll(segments).content();
    store.addAll(keys, segments);
    ContentRetriever retriever = EmbeddingStoreContentRetriever.builder()
        .embeddingStore(store)
        .embeddingModel(LlmEmbedderEmbeddingModel.forQueries(encoder, Task.QA))
        .maxResults(2)
        .build();

    List<Content> hits = retriever.retrieve(Query.from("Who created Python?"));
    assertEquals(2, hits.size());
    assertEquals(PASSAGES.get(2).text(), hits.get(0).textSegment().text());
    // the store scores cosine rescaled to [0, 1]: (1 + dot) / 2 of our query and key embeddings
    float dot = dot(encoder.encodeQuery("Who created Python?", Task.QA), keys.get(2).vector());
    assertEquals((1 + dot) / 2, (Double) hits.get(0).metadata().get(ContentMetadata.SCORE), 1e-5);
  }

  @Test
  void knowledgeRetrieverAugmentsAUserMessageInDefaultRetrievalAugmentor() {
    DefaultRetrievalAugmentor augmentor = DefaultRetrievalAugmentor.builder()
        .contentRetriever(LlmEmbedderContentRetrievers.knowledge(embedder.knowledge(), 2))
        .build();
    UserMessage question = UserMessage.from("What causes tides?");
    AugmentationResult result = augmentor.augment(
        new AugmentationRequest(question, Metadata.from(question, "chat-1", List.of())));

    assertEquals(2, result.contents().size());
    Content top = result.contents().get(0);
    assertEquals(PASSAGES.get(0).text(), top.textSegment().text());
    var md = top.textSegment().metadata();
    assertEquals("tides", md.getString(LlmEmbedderContentRetrievers.ID));
    assertEquals("Tides", md.getString(LlmEmbedderContentRetrievers.TITLE));
    assertEquals("ocean-faq", md.getString("source"));
    float expected = embedder.knowledge().retrieve("What causes tides?", 1).get(0).score();
    assertEquals(expected, md.getDouble(LlmEmbedderContentRetrievers.SCORE), 1e-6);
    assertEquals("tides", top.metadata().get(ContentMetadata.EMBEDDING_ID));
    String augmented = ((UserMessage) result.chatMessage()).singleText();
    assertTrue(augmented.startsWith("What causes tides?"), augmented);
    assertTrue(augmented.contains(PASSAGES.get(0).text()), augmented);
  }

  /** A chat model that answers with the last user message it was sent: what the RAG pipeline made of it. */
  private static final class EchoChatModel implements ChatModel {
    final List<String> received = new ArrayList<>();

    @Override
    public ChatResponse doChat(ChatRequest request) {
      List<ChatMessage> messages = request.messages();
      String text = ((UserMessage) messages.get(messages.size() - 1)).singleText();
      received.add(text);
      return ChatResponse.builder().aiMessage(AiMessage.from(text)).build();
    }
  }

  interface Assistant {
    String chat(String message);
  }

  @Test
  void aiServicesTakeOurRetrieverWithOneLine() {
    EchoChatModel chatModel = new EchoChatModel();
    Assistant assistant = AiServices.builder(Assistant.class)
        .chatModel(chatModel)
        .contentRetriever(LlmEmbedderContentRetrievers.knowledge(embedder.knowledge(), 1))
        .build();

    String answer = assistant.chat("Why does bread dough rise?");
    assertEquals(1, chatModel.received.size());
    assertTrue(answer.contains(PASSAGES.get(1).text()), answer);
    assertTrue(!answer.contains(PASSAGES.get(0).text()), answer);
  }

  @Test
  void toolExampleAndMemoryRetrieversAsContentRetrievers() {
    try (LlmEmbedder local = LlmEmbedder.builder().encoder(encoder).build()) {
      String weatherApi = "{\"name\":\"get_weather\",\"description\":\"Current weather for a city\"}";
      local.tools().addAll(List.of(
          Tool.of("get_weather", "get_weather", "Current weather and temperature for a city", weatherApi),
          Tool.of("send_email", "send_email", "Send an email message to a recipient", null)));
      List<Content> tools = LlmEmbedderContentRetrievers.tools(local.tools(), 1)
          .retrieve(Query.from("Is it raining in Paris right now?"));
      assertEquals(1, tools.size());
      assertEquals(weatherApi, tools.get(0).textSegment().text());
      assertEquals("get_weather", tools.get(0).textSegment().metadata().getString(LlmEmbedderContentRetrievers.NAME));

      local.examples().addAll(List.of(
          new Demonstration("d1", "sentiment", "Classify the sentiment.", "I loved this film!", "positive"),
          new Demonstration("d2", "translate", "Translate to French.", "Good morning", "Bonjour")));
      List<Content> examples = LlmEmbedderContentRetrievers.examples(local.examples(), 2, "sentiment", "{input} => {output}")
          .retrieve(Query.from("The movie was boring and far too long."));
      assertEquals(1, examples.size()); // the task filter leaves one demonstration
      assertEquals("I loved this film! => positive", examples.get(0).textSegment().text());
      assertEquals("sentiment", examples.get(0).textSegment().metadata().getString(LlmEmbedderContentRetrievers.TASK));

      MemoryRetriever chat = local.memory("chat", MemoryRetriever.Settings.of(MemoryRetriever.Mode.CONVERSATION)
          .withRecentTokens(0));
      chat.append("My dog is called Rex and he is a beagle.");
      chat.append("I work as a nurse in Lyon.");
      chat.append("My favourite food is ramen.");
      List<Content> spans = LlmEmbedderContentRetrievers.memory(chat, 1).retrieve(Query.from("What is my dog's name?"));
      assertEquals(1, spans.size());
      var md = spans.get(0).textSegment().metadata();
      assertEquals(0, md.getInteger(LlmEmbedderContentRetrievers.FIRST_CHUNK));
      assertEquals(1, md.getInteger(LlmEmbedderContentRetrievers.LAST_CHUNK)); // a hit comes with its continuation
      assertEquals("chat:0-1", md.getString(LlmEmbedderContentRetrievers.ID));
      assertTrue(spans.get(0).textSegment().text().startsWith("My dog is called Rex"));
    }
  }

  @Test
  void rejectsANonPositiveK() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LlmEmbedderContentRetrievers.knowledge(embedder.knowledge(), 0));
    assertEquals("k is 0; allowed: 1 or more", e.getMessage());
  }

  private static float dot(float[] a, float[] b) {
    float s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
