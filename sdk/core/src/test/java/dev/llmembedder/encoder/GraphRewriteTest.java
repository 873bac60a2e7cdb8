package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.internal.onnx.Onnx.AttributeProto;
import dev.llmembedder.internal.onnx.Onnx.GraphProto;
import dev.llmembedder.internal.onnx.Onnx.ModelProto;
import dev.llmembedder.internal.onnx.Onnx.NodeProto;
import dev.llmembedder.internal.onnx.Onnx.TensorProto;
import dev.llmembedder.testing.SharedData;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The load-time graph rewrite ({@link GraphRewrite}) against the graph as exported, on real SciFact passages and
 * queries in padded batches of 8 (texts of different lengths share a batch): same embeddings, and graphs it does not
 * recognise are left alone.
 */
class GraphRewriteTest {
  private static List<String> texts;

  @BeforeAll
  static void readTexts() throws IOException {
    Path scifact = SharedData.require("data/scifact");
    ObjectMapper json = new ObjectMapper();
    texts = new ArrayList<>(List.of("a", "What is the capital of France?"));
    try (BufferedReader r = Files.newBufferedReader(scifact.resolve("queries.jsonl"))) {
      r.lines().limit(14).forEach(l -> texts.add(text(json, l, false)));
    }
    try (BufferedReader r = Files.newBufferedReader(scifact.resolve("corpus.jsonl"))) {
      r.lines().limit(16).forEach(l -> texts.add(text(json, l, true))); // some over 512 tokens: truncated
    }
  }

  private static String text(ObjectMapper json, String line, boolean passage) {
    try {
      var n = json.readTree(line);
      return passage ? n.get("title").asText() + " " + n.get("text").asText() : n.get("text").asText();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Encoder.Builder batchesOf8(ModelPreset preset) {
    return Encoder.builder().preset(preset).batchSize(8).batchTokens(8 * 512).queryCacheSize(0);
  }

  /** Worst cosine between the rewritten and the exported graph's embeddings of {@link #texts}. */
  private static double worstCosine(Encoder.Builder rewritten, Encoder.Builder exported, GraphRewrite.Result expect) {
    try (Encoder on = rewritten.build(); Encoder off = exported.graphRewrite(false).build()) {
      assertEquals(Optional.of(expect), on.graphRewrite());
      assertEquals(Optional.empty(), off.graphRewrite());
      float[][] a = on.encode(texts, "", 512);
      float[][] b = off.encode(texts, "", 512);
      double worst = 1;
      for (int i = 0; i < a.length; i++) {
        assertEquals(on.dimension(), a[i].length);
        worst = Math.min(worst, EncoderTest.dot(a[i], b[i]));
      }
      return worst;
    }
  }

  @Test
  void fp32RewrittenAndPrunedToClsGivesTheSameEmbeddings() {
    double worst = worstCosine(batchesOf8(ModelPreset.BGE_SMALL_EN_V15), batchesOf8(ModelPreset.BGE_SMALL_EN_V15),
        new GraphRewrite.Result(null, GraphRewrite.CLS_OUTPUT, 12, 24, true, false));
    assertTrue(worst >= 0.9999, "worst cosine " + worst);
  }

  @Test
  void int8RewrittenAndPrunedToClsGivesTheSameEmbeddings() {
    double worst = worstCosine(batchesOf8(ModelPreset.BGE_SMALL_EN_V15_INT8),
        batchesOf8(ModelPreset.BGE_SMALL_EN_V15_INT8),
        new GraphRewrite.Result(null, GraphRewrite.CLS_OUTPUT, 12, 0, true, true));
    System.out.printf("int8, rewritten against exported: worst cosine %.6f%n", worst);
    assertTrue(worst >= 0.999, "worst cosine " + worst);
  }

  @Test
  void int8UnpaddedRunsTakeTheMasklessBranchAndGiveTheSameEmbeddings() {
    // one text a run, and runs of equal lengths: no padding, so each attention core runs without a mask
    List<String> some = List.of(texts.get(1), texts.get(5), texts.get(20), texts.get(25));
    try (Encoder on = batchesOf8(ModelPreset.BGE_SMALL_EN_V15_INT8).build();
        Encoder off = batchesOf8(ModelPreset.BGE_SMALL_EN_V15_INT8).graphRewrite(false).build()) {
      double worst = 1;
      for (String text : some) {
        worst = Math.min(worst, EncoderTest.dot(on.encode(List.of(text), "", 512)[0],
            off.encode(List.of(text), "", 512)[0]));
      }
      List<String> twice = List.of(some.get(2), some.get(2));
      float[][] a = on.encode(twice, "", 512);
      float[][] b = off.encode(twice, "", 512);
      worst = Math.min(worst, Math.min(EncoderTest.dot(a[0], b[0]), EncoderTest.dot(a[1], b[1])));
      System.out.printf("int8 unpadded runs, rewritten against exported: worst cosine %.6f%n", worst);
      assertTrue(worst >= 0.999, "worst cosine " + worst);
    }
  }

  @Test
  void meanPoolingIsRewrittenButNotPruned() {
    double worst = worstCosine(batchesOf8(ModelPreset.BGE_SMALL_EN_V15).pooling(Pooling.MEAN),
        batchesOf8(ModelPreset.BGE_SMALL_EN_V15).pooling(Pooling.MEAN),
        new GraphRewrite.Result(null, "last_hidden_state", 12, 24, false, false));
    assertTrue(worst >= 0.9999, "worst cosine " + worst);
  }

  @Test
  void aDecoderGraphIsLeftAsItIs() throws IOException {
    Path gpt2 = SharedData.require("models/tiny-random-gpt2/model.onnx");
    assertEquals(Optional.empty(), GraphRewrite.rewrite(Files.readAllBytes(gpt2), "last_hidden_state", false,
        gpt2.toString()));
  }

  @Test
  void aBertGraphWithOneUnexpectedBlockIsLeftAsItIs() throws IOException {
    byte[] onnx;
    try (InputStream in = Encoder.class.getClassLoader()
        .getResourceAsStream(ModelPreset.BGE_SMALL_EN_V15_INT8.onnxResource())) {
      onnx = in.readAllBytes();
    }
    assertTrue(GraphRewrite.rewrite(onnx, "last_hidden_state", true, "int8").isPresent());
    // layer 5 divides its attention scores by 4 instead of sqrt(32): not the block the rewrite knows
    ModelProto model = ModelProto.parseFrom(onnx);
    GraphProto.Builder g = model.getGraph().toBuilder();
    String divisor = g.getNodeList().stream()
        .filter(n -> n.getName().equals("/encoder/layer.5/attention/self/Div")).findFirst().orElseThrow().getInput(1);
    boolean changed = false;
    for (int i = 0; i < g.getNodeCount(); i++) {
      NodeProto n = g.getNode(i);
      if (n.getOpType().equals("Constant") && n.getOutput(0).equals(divisor)) {
        TensorProto four = n.getAttribute(0).getT().toBuilder().setRawData(com.google.protobuf.ByteString.copyFrom(
            ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(4f).array())).build();
        g.setNode(i, n.toBuilder().setAttribute(0, AttributeProto.newBuilder(n.getAttribute(0)).setT(four)));
        changed = true;
      }
    }
    assertTrue(changed, "no Constant node found for " + divisor);
    byte[] altered = model.toBuilder().setGraph(g).build().toByteArray();
    assertFalse(GraphRewrite.rewrite(altered, "last_hidden_state", true, "altered int8").isPresent());
  }

  @Test
  void switchedOffTheGraphRunsAsExported() {
    try (Encoder off = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).graphRewrite(false).build()) {
      assertEquals(Optional.empty(), off.graphRewrite());
      assertEquals(384, off.encodeQuery("a query", Task.QA).length);
    }
  }
}
