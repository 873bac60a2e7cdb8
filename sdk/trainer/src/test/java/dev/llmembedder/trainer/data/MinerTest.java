package dev.llmembedder.trainer.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.CorpusDoc;
import dev.llmembedder.eval.KnowledgeEvaluation;
import dev.llmembedder.index.DocumentHit;
import dev.llmembedder.index.DocumentIndex;
import dev.llmembedder.retriever.KnowledgeRetriever;
import dev.llmembedder.trainer.data.Miner.Mined;
import dev.llmembedder.trainer.testing.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hard-negative mining on SciFact's train split: its first 100 queries, with every judged document and 300 others
 * (about 420 documents), indexed once with the int8 bge-small-en-v1.5.
 */
class MinerTest {
  private static final int QUERIES = 100;

  private static Encoder encoder;
  private static KnowledgeRetriever retriever;
  private static BeirDataset data;

  @BeforeAll
  static void indexSciFact() throws IOException {
    BeirDataset train = BeirDataset.load(SharedData.require("data/scifact"), "train");
    Map<String, String> queries = new LinkedHashMap<>();
    Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
    train.queries().entrySet().stream().limit(QUERIES).forEach(q -> {
      queries.put(q.getKey(), q.getValue());
      qrels.put(q.getKey(), train.qrels().get(q.getKey()));
    });
    data = new BeirDataset(train.name(), train.corpus(), queries, qrels, "train").subset(300, 42);
    encoder = Encoder.load(ModelPreset.BGE_SMALL_EN_V15_INT8);
    retriever = new KnowledgeRetriever(encoder, DocumentIndex.create(encoder.dimension()));
    KnowledgeEvaluation.index(retriever, data, n -> {});
  }

  @AfterAll
  static void close() {
    if (encoder != null) {
      encoder.close();
    }
  }

  private static Set<String> relevantTexts(String queryId) {
    Set<String> texts = new HashSet<>();
    data.qrels().get(queryId).forEach((doc, rel) -> {
      CorpusDoc d = data.corpus().get(doc);
      if (rel > 0 && d != null) {
        texts.add(d.titleAndText());
      }
    });
    return texts;
  }

  @Test
  void minesPositivesFromQrelsAndHardNegativesFromTheIndex() {
    AtomicInteger progress = new AtomicInteger();
    Mined mined = new Miner(retriever).mine(data, progress::addAndGet);
    assertEquals(QUERIES, progress.get());
    assertEquals(QUERIES, mined.examples().size() + mined.skippedTotal());
    assertEquals(0, mined.skippedTotal(), mined.toString()); // every judged document is in the subset
    List<String> ids = new ArrayList<>(data.queries().keySet());
    for (int i = 0; i < ids.size(); i++) {
      TrainingExample e = mined.examples().get(i);
      assertEquals(data.queries().get(ids.get(i)), e.query());
      assertEquals(Task.QA, e.task());
      assertEquals(relevantTexts(ids.get(i)), new HashSet<>(e.positives()));
      assertEquals(Miner.DEFAULT_NEGATIVES, e.negatives().size(), e.query());
      assertEquals(e.negatives().size(), new HashSet<>(e.negatives()).size(), "repeated negative");
      for (String negative : e.negatives()) {
        assertFalse(e.positives().contains(negative), "positive among negatives: " + e.query());
      }
      assertTrue(e.teacherScores().isEmpty());
      assertTrue(e.answers().isEmpty());
    }
  }

  @Test
  void negativesAreTheBestRankedNonPositivesInRankOrder() {
    Mined mined = new Miner(retriever, 5).mine(data);
    List<String> ids = new ArrayList<>(data.queries().keySet());
    // the miner's first chunk of queries, encoded in one call as it does (batching can move scores by an ulp)
    List<String> chunk = ids.subList(0, Miner.QUERY_CHUNK).stream().map(data.queries()::get).toList();
    List<List<DocumentHit>> runs = retriever.retrieveAll(chunk, 30);
    for (int i = 0; i < 10; i++) {
      String id = ids.get(i);
      Set<String> relevant = new HashSet<>();
      data.qrels().get(id).forEach((doc, rel) -> {
        if (rel > 0) {
          relevant.add(doc);
        }
      });
      List<String> expected = new ArrayList<>();
      for (DocumentHit hit : runs.get(i)) {
        if (!relevant.contains(hit.document().id()) && expected.size() < 5) {
          expected.add(KnowledgeRetriever.keyText(hit.document()));
        }
      }
      assertEquals(expected, mined.examples().get(i).negatives(), data.queries().get(id));
    }
  }

  @Test
  void miningIsDeterministicAndFewerNegativesArePrefixes() {
    Mined first = new Miner(retriever).mine(data);
    assertEquals(first, new Miner(retriever).mine(data));
    Mined three = new Miner(retriever, 3).mine(data);
    for (int i = 0; i < first.examples().size(); i++) {
      assertEquals(first.examples().get(i).negatives().subList(0, 3), three.examples().get(i).negatives());
    }
  }

  @Test
  void minedExamplesRoundTripThroughTheFile(@TempDir Path dir) throws IOException {
    Mined mined = new Miner(retriever, 2).mine(data);
    Path file = dir.resolve("scifact-train.jsonl");
    TrainingData.write(file, mined.examples());
    TrainingData.Read read = TrainingData.read(file);
    assertEquals(mined.examples(), read.examples());
    assertEquals(0, read.skippedTotal());
  }

  @Test
  void queriesWithoutUsablePositivesOrNegativesAreCounted() {
    // q1: its only relevant document is in neither corpus nor index; q2: judged non-relevant only; q3: fine
    List<String> ids = new ArrayList<>(data.queries().keySet());
    Map<String, String> queries = new LinkedHashMap<>();
    Map<String, Map<String, Integer>> qrels = new LinkedHashMap<>();
    String someDoc = data.corpus().keySet().iterator().next();
    queries.put("q1", data.queries().get(ids.get(0)));
    qrels.put("q1", Map.of("no-such-document", 1));
    queries.put("q2", data.queries().get(ids.get(1)));
    qrels.put("q2", Map.of(someDoc, 0));
    queries.put("q3", data.queries().get(ids.get(2)));
    qrels.put("q3", data.qrels().get(ids.get(2)));
    BeirDataset odd = new BeirDataset("odd", data.corpus(), queries, qrels, "train");
    Mined mined = new Miner(retriever).mine(odd);
    assertEquals(1, mined.examples().size());
    assertEquals(2, mined.skipped().get(Miner.Skip.NO_POSITIVE));
    // asking for more negatives than the index can give
    Mined tooMany = new Miner(retriever, retriever.size()).mine(odd);
    assertEquals(0, tooMany.examples().size());
    assertEquals(1, tooMany.skipped().get(Miner.Skip.TOO_FEW_NEGATIVES));
    assertEquals("0 examples, 3 skipped (NO_POSITIVE 2, TOO_FEW_NEGATIVES 1)", tooMany.toString());
  }

  @Test
  void negativesMustBePositive() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Miner(retriever, 0));
    assertEquals("negatives is 0; expected >= 1 (the paper's 7 by default)", e.getMessage());
  }
}
