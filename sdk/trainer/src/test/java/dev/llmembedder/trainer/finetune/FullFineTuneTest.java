package dev.llmembedder.trainer.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.CorpusDoc;
import dev.llmembedder.trainer.testing.SharedData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The DJL forward pass against the SDK's ONNX Runtime encoder on the embedded fp32 bge-small-en-v1.5, then training a
 * few steps on real SciFact rows, exporting to ONNX and reloading with the SDK's encoder.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FullFineTuneTest {
  private Encoder onnx;
  private EncoderFineTuner tuner;
  private BeirDataset scifact;

  @BeforeAll
  void load() throws IOException {
    scifact = BeirDataset.load(SharedData.require("data/scifact"), "train");
    onnx = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15).queryCacheSize(0).build();
    tuner = EncoderFineTuner.builder().preset(ModelPreset.BGE_SMALL_EN_V15).build();
  }

  @AfterAll
  void close() {
    if (tuner != null) {
      tuner.close();
    }
    if (onnx != null) {
      onnx.close();
    }
  }

  private List<String> abstracts(int n) {
    List<String> out = new ArrayList<>();
    for (CorpusDoc doc : scifact.corpus().values()) {
      if (out.size() == n) {
        break;
      }
      out.add(doc.titleAndText());
    }
    return out;
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  /** The smallest cosine between the two encoders' embeddings of each text. */
  private double agreement(List<String> texts, String instruction, int maxTokens) {
    float[][] expected = onnx.encode(texts, instruction, maxTokens);
    float[][] actual = tuner.encode(texts, instruction, maxTokens);
    assertEquals(texts.size(), actual.length);
    double min = 1;
    for (int i = 0; i < texts.size(); i++) {
      assertEquals(expected[i].length, actual[i].length);
      min = Math.min(min, cosine(expected[i], actual[i]));
    }
    return min;
  }

  @Test
  void theDjlForwardPassAgreesWithOnnxRuntime() {
    // long abstracts (up to 512 tokens, some truncated), padded together in one chunk with short ones
    List<String> texts = new ArrayList<>(abstracts(6));
    texts.add("Tides");
    texts.add("");
    String queryInstruction = onnx.instructions().forTask(Task.QA).query();
    double passages = agreement(texts, "", 512);
    List<String> claims = new ArrayList<>(scifact.queries().values()).subList(0, 8);
    double queries = agreement(claims, queryInstruction, 512);
    double truncated = agreement(abstracts(3), "", 32);
    System.out.printf("DJL vs ONNX Runtime, smallest cosine: passages %.7f, queries %.7f, truncated to 32 tokens"
        + " %.7f%n", passages, queries, truncated);
    assertTrue(passages >= 0.9999, "passages: " + passages);
    assertTrue(queries >= 0.9999, "queries: " + queries);
    assertTrue(truncated >= 0.9999, "truncated: " + truncated);
  }
}
