package dev.llmembedder.trainer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.encoder.Task;
import dev.llmembedder.eval.BeirDataset;
import dev.llmembedder.eval.CorpusDoc;
import dev.llmembedder.trainer.data.TrainingExample;
import dev.llmembedder.trainer.loss.StabilizedDistillationLoss;
import dev.llmembedder.trainer.testing.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Embedding and training on real data with the embedded int8 bge-small-en-v1.5: LLM-Embedder's own icl rows (with
 * the LLM's teacher scores) and SciFact train queries.
 */
class RealEmbeddingsTest {
  /**
   * The int8 model with a query adapter that swaps neighbouring coordinates: encodeQueries is adapted, so the
   * {@link BatchEncoder} must not use it.
   */
  private static final class Shared {
    static final Encoder ENCODER = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8)
        .queryAdapter(swapAdapter()).build();
  }

  private static QueryAdapter swapAdapter() {
    int d = 384;
    float[][] w = new float[d][d];
    for (int i = 0; i < d; i += 2) {
      w[i][i + 1] = 1;
      w[i + 1][i] = 1;
    }
    return QueryAdapter.of(ModelPreset.BGE_SMALL_EN_V15_INT8.modelName(), w, null);
  }

  /** LLM-Embedder's toy icl rows (FlagEmbedding research/llm_embedder/data/toy/icl.json). */
  private static List<TrainingExample> iclRows() throws IOException {
    Path file = SharedData.require("data/llm_embedder_toy/icl.jsonl");
    ObjectMapper json = new ObjectMapper();
    List<TrainingExample> rows = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      JsonNode n = json.readTree(line);
      rows.add(new TrainingExample(n.get("query").asText(), texts(n.get("pos")), texts(n.get("neg")),
          json.convertValue(n.get("teacher_scores"), json.getTypeFactory().constructCollectionType(List.class,
              Double.class)), List.of(), Task.fromId(n.get("task").asText())));
    }
    return rows;
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(t -> out.add(t.asText()));
    return out;
  }

  @Test
  void batchEncoderEmbedsOnceWithoutTheAdapterAndKeepsTheFirstPositive() throws IOException {
    List<TrainingExample> rows = iclRows();
    Encoder encoder = Shared.ENCODER;
    BatchEncoder batches = new BatchEncoder(encoder);
    List<TrainingBatch> embedded = batches.encode(List.of(rows.subList(0, 4), rows.subList(4, 8)));
    assertEquals(2, embedded.size());
    TrainingBatch first = embedded.get(0);
    assertEquals(Task.ICL, first.task());
    assertEquals(4, first.size());
    assertEquals(18, first.candidatesPerQuery(), "the first of 3 positives, then 17 negatives");

    // queries: the model's own embeddings with the icl query instruction, not the adapted ones
    String instruction = encoder.instructions().forTask(Task.ICL).query();
    List<String> queries = rows.stream().map(TrainingExample::query).distinct().toList();
    float[][] plain = encoder.encode(queries, instruction, encoder.maxTokens());
    float[][] adapted = encoder.encodeQueries(queries, Task.ICL);
    EmbeddedExample e0 = first.examples().get(0);
    assertArrayEquals(plain[queries.indexOf(rows.get(0).query())], e0.query());
    assertFalse(java.util.Arrays.equals(adapted[queries.indexOf(rows.get(0).query())], e0.query()));

    // candidates: positive 0 first, then the negatives; teacher scores follow them (the other positives' dropped)
    TrainingExample row = rows.get(0);
    float[][] keys = encoder.encodeKeys(BatchEncoder.candidates(row), Task.ICL);
    assertEquals(0, e0.positive());
    assertEquals(1 + row.negatives().size(), e0.candidates().length);
    assertEquals(row.teacherScores().get(0).doubleValue(), e0.teacherScores()[0]);
    for (int k = 0; k < row.negatives().size(); k++) {
      assertEquals(row.teacherScores().get(row.positives().size() + k).doubleValue(), e0.teacherScores()[1 + k]);
    }
    for (int k = 0; k < keys.length; k++) {
      // the batch encoder ran another batch composition; int8 embeddings depend on it slightly (see ModelPreset)
      assertTrue(Synthetic.dot(keys[k], e0.candidates()[k]) > 0.98, "candidate " + k);
    }

    // each distinct text once; a key shared by two examples is one array
    Set<String> distinctKeys = new HashSet<>();
    rows.forEach(r -> distinctKeys.addAll(BatchEncoder.candidates(r)));
    assertEquals(distinctKeys.size(), batches.cachedKeys());
    assertEquals(queries.size(), batches.cachedQueries());
    int before = batches.cachedKeys();
    List<TrainingBatch> again = batches.encode(List.of(rows.subList(0, 4)));
    assertEquals(before, batches.cachedKeys(), "a second call encodes nothing new");
    assertSame(first.examples().get(0).candidates()[3], again.get(0).examples().get(0).candidates()[3]);

    String message = assertThrows(IllegalArgumentException.class, () -> batches.encode(List.of(List.of(rows.get(0),
        new TrainingExample("q", List.of("p"), row.negatives(), List.of(), List.of(), Task.QA))))).getMessage();
    assertEquals("batch 0 mixes tasks: example 0 is icl, example 1 ('q') is qa; batches must be homogeneous",
        message);
    message = assertThrows(IllegalArgumentException.class, () -> batches.encode(List.of(List.of(rows.get(0),
        new TrainingExample("q", List.of("p"), List.of("n"), List.of(), List.of(), Task.ICL))))).getMessage();
    assertEquals("batch 0: example 1 ('q') has 1 negatives, example 0 has 17; a batch needs the same number for every"
        + " example", message);
  }

  @Test
  void stabilizedDistillationOnTheLlmsRewardsMovesTheRankingTowardTheTeacher() throws IOException {
    List<TrainingBatch> batches = new BatchEncoder(Shared.ENCODER).encode(List.of(iclRows()));
    AdapterTrainer trainer = AdapterTrainer.builder().forEncoder(Shared.ENCODER).loss(new StabilizedDistillationLoss())
        .learningRate(1e-3).epochs(20).build();
    QueryAdapter identity = QueryAdapter.identity(Shared.ENCODER.modelName(), 384, true);
    double agreementBefore = teacherTopAgreement(identity, batches.get(0));
    TrainingResult result = trainer.fit(batches, List.of());
    double agreementAfter = teacherTopAgreement(result.adapter(), batches.get(0));
    double lossBefore = trainer.meanLoss(identity, batches);
    double lossAfter = trainer.meanLoss(result.adapter(), batches);
    System.out.printf("icl toy rows, stabilized distillation: loss %.3f -> %.3f, student's top-3 holding the"
        + " teacher's best %.3f -> %.3f%n", lossBefore, lossAfter, agreementBefore, agreementAfter);
    assertTrue(lossAfter < 0.5 * lossBefore, lossBefore + " -> " + lossAfter);
    assertTrue(agreementAfter >= agreementBefore, agreementBefore + " -> " + agreementAfter);
  }

  /** The share of queries whose teacher-best candidate is among the student's top 3. */
  private static double teacherTopAgreement(QueryAdapter adapter, TrainingBatch batch) {
    int hits = 0;
    for (EmbeddedExample e : batch.examples()) {
      int best = 0;
      for (int k = 1; k < e.teacherScores().length; k++) {
        best = e.teacherScores()[k] > e.teacherScores()[best] ? k : best;
      }
      float[] q = adapter.apply(e.query());
      double bestScore = Synthetic.dot(q, e.candidates()[best]);
      int above = 0;
      for (float[] c : e.candidates()) {
        above += Synthetic.dot(q, c) > bestScore ? 1 : 0;
      }
      hits += above < 3 ? 1 : 0;
    }
    return hits / (double) batch.size();
  }

  @Test
  void sciFactTrainQueriesAreLearnedWithoutHurtingHeldOutOnes() throws IOException {
    BeirDataset data = BeirDataset.load(SharedData.require("data/scifact"), "train");
    Encoder encoder = Shared.ENCODER;
    // 50 train and 25 validation queries, each with a judged document in the corpus
    List<String> queryIds = data.queries().keySet().stream().filter(q -> data.qrels().get(q).keySet().stream()
        .anyMatch(data.corpus()::containsKey)).limit(75).toList();
    // a pool of keys: every judged document of these queries plus 150 other abstracts
    List<String> pool = new ArrayList<>();
    Set<String> judged = new HashSet<>();
    for (String q : queryIds) {
      for (String doc : data.qrels().get(q).keySet()) {
        if (data.corpus().containsKey(doc) && judged.add(doc)) {
          pool.add(doc);
        }
      }
    }
    List<String> others = new ArrayList<>(data.corpus().keySet());
    others.removeAll(judged);
    java.util.Collections.shuffle(others, new Random(7));
    pool.addAll(others.subList(0, 150));
    float[][] keys = encoder.encodeKeys(pool.stream().map(id -> data.corpus().get(id)).map(CorpusDoc::titleAndText)
        .toList(), Task.QA);
    float[][] queries = encoder.encode(queryIds.stream().map(data.queries()::get).toList(),
        encoder.instructions().forTask(Task.QA).query(), encoder.maxTokens());
    // examples: the first judged document, then the 3 highest-scoring unjudged pool documents (hard negatives
    // mined with the unadapted model, as LLM-Embedder mines them with BGE)
    List<EmbeddedExample> examples = new ArrayList<>();
    for (int i = 0; i < queryIds.size(); i++) {
      Map<String, Integer> relevant = data.qrels().get(queryIds.get(i));
      int positive = pool.indexOf(relevant.keySet().stream().filter(data.corpus()::containsKey).findFirst()
          .orElseThrow());
      List<Integer> ranked = rank(queries[i], keys);
      float[][] candidates = new float[4][];
      candidates[0] = keys[positive];
      int k = 1;
      for (int j : ranked) {
        if (k < 4 && !relevant.containsKey(pool.get(j))) {
          candidates[k++] = keys[j];
        }
      }
      examples.add(new EmbeddedExample(queries[i], candidates, 0, null));
    }
    List<TrainingBatch> train = TrainingBatch.chunk(Task.QA, examples.subList(0, 50), 10);
    List<TrainingBatch> validation = TrainingBatch.chunk(Task.QA, examples.subList(50, 75), 10);
    AdapterTrainer trainer = AdapterTrainer.builder().forEncoder(encoder).learningRate(2e-4).epochs(30).patience(3)
        .build();
    QueryAdapter identity = QueryAdapter.identity(encoder.modelName(), encoder.dimension(), true);
    // early stopping on held-out queries: whatever the epochs do, the adapter returned is never worse than none there
    TrainingResult result = trainer.fit(train, validation);
    double validationBefore = trainer.meanLoss(identity, validation);
    double validationAfter = trainer.meanLoss(result.adapter(), validation);
    double[] recallHeldOut = {recallAt1(identity, queries, 50, 75, queryIds, data, pool, keys),
        recallAt1(result.adapter(), queries, 50, 75, queryIds, data, pool, keys)};
    // the same training judged on the training queries themselves: the map does learn them
    TrainingResult learned = trainer.fit(train, train);
    double trainBefore = trainer.meanLoss(identity, train);
    double trainAfter = trainer.meanLoss(learned.adapter(), train);
    double[] recallTrain = {recallAt1(identity, queries, 0, 50, queryIds, data, pool, keys),
        recallAt1(learned.adapter(), queries, 0, 50, queryIds, data, pool, keys)};
    System.out.printf("SciFact (50 train queries, %d pool documents): held out, best epoch %d of %d, validation loss"
        + " %.3f -> %.3f, recall@1 %.2f -> %.2f; judged on the train queries, best epoch %d, train loss %.3f -> %.3f,"
        + " recall@1 %.2f -> %.2f%n", pool.size(), result.bestEpoch(), result.history().size(), validationBefore,
        validationAfter, recallHeldOut[0], recallHeldOut[1], learned.bestEpoch(), trainBefore, trainAfter,
        recallTrain[0], recallTrain[1]);
    // 50 queries teach a 384 x 384 map the training queries (recall@1 0.84 -> 0.96) but hardly anything that
    // carries over to other queries (validation loss within 0.5% either way, depending on the int8 embeddings'
    // batchmates): early stopping keeps an epoch only where it helps the held-out queries, else none
    assertTrue(validationAfter <= validationBefore, validationBefore + " -> " + validationAfter);
    assertTrue(trainAfter < 0.8 * trainBefore, trainBefore + " -> " + trainAfter);
    assertTrue(recallTrain[1] > recallTrain[0] + 0.05, recallTrain[0] + " -> " + recallTrain[1]);
  }

  private static List<Integer> rank(float[] query, float[][] keys) {
    List<Integer> order = new ArrayList<>();
    for (int j = 0; j < keys.length; j++) {
      order.add(j);
    }
    order.sort((a, b) -> Double.compare(Synthetic.dot(query, keys[b]), Synthetic.dot(query, keys[a])));
    return order;
  }

  /** Share of queries from..to whose best pool document (after the adapter) is judged relevant. */
  private static double recallAt1(QueryAdapter adapter, float[][] queries, int from, int to, List<String> queryIds,
      BeirDataset data, List<String> pool, float[][] keys) {
    int hits = 0;
    for (int i = from; i < to; i++) {
      int top = rank(adapter.apply(queries[i]), keys).get(0);
      hits += data.qrels().get(queryIds.get(i)).containsKey(pool.get(top)) ? 1 : 0;
    }
    return hits / (double) (to - from);
  }
}
