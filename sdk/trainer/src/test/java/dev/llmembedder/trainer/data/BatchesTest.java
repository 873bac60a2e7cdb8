package dev.llmembedder.trainer.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.data.Batches.Batch;
import dev.llmembedder.trainer.data.Batches.LastBatch;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BatchesTest {
  /** 23 qa, 10 tool, 3 icl examples, interleaved; queries are unique. */
  private static List<TrainingExample> examples() {
    List<TrainingExample> out = new ArrayList<>();
    Map<Task, Integer> counts = Map.of(Task.QA, 23, Task.TOOL, 10, Task.ICL, 3);
    for (int i = 0; i < 23; i++) {
      for (Task task : List.of(Task.TOOL, Task.QA, Task.ICL)) {
        if (i < counts.get(task)) {
          out.add(new TrainingExample(task.id() + " query " + i, List.of("pos " + i), List.of("neg " + i), null,
              null, task));
        }
      }
    }
    return out;
  }

  private static List<List<String>> queries(List<Batch> batches) {
    return batches.stream().map(b -> b.examples().stream().map(TrainingExample::query).toList()).toList();
  }

  @Test
  void everyBatchHoldsOneTaskAndKeepCoversEveryExampleOnce() {
    List<TrainingExample> examples = examples();
    Batches batches = new Batches(4, LastBatch.KEEP, 7);
    List<Batch> epoch = batches.epoch(examples, 0);
    // qa 23 = 5*4 + 3, tool 10 = 2*4 + 2, icl 3 = one partial batch
    assertEquals(6 + 3 + 1, epoch.size());
    assertEquals(epoch.size(), batches.batchesPerEpoch(examples));
    Map<Task, Integer> partial = new EnumMap<>(Task.class);
    Set<String> seen = new HashSet<>();
    for (Batch batch : epoch) {
      assertTrue(batch.examples().stream().allMatch(e -> e.task() == batch.task()), batch.toString());
      assertTrue(batch.size() >= 1 && batch.size() <= 4);
      if (batch.size() < 4) {
        assertEquals(null, partial.put(batch.task(), batch.size()), "one partial batch per task");
      }
      batch.examples().forEach(e -> assertTrue(seen.add(e.query()), "twice: " + e.query()));
    }
    assertEquals(Map.of(Task.QA, 3, Task.TOOL, 2, Task.ICL, 3), partial);
    assertEquals(examples.size(), seen.size());
  }

  @Test
  void dropLeavesOnlyFullBatches() {
    List<TrainingExample> examples = examples();
    Batches batches = new Batches(4, LastBatch.DROP, 7);
    List<Batch> epoch = batches.epoch(examples, 0);
    assertEquals(5 + 2, epoch.size());
    assertEquals(epoch.size(), batches.batchesPerEpoch(examples));
    assertTrue(epoch.stream().allMatch(b -> b.size() == 4));
    assertEquals(Set.of(Task.QA, Task.TOOL), new HashSet<>(epoch.stream().map(Batch::task).toList()));
    // a batch size above every task's count drops everything
    assertEquals(List.of(), new Batches(24, LastBatch.DROP, 7).epoch(examples, 0));
  }

  @Test
  void sameSeedAndEpochGiveTheSameBatchesOthersDiffer() {
    List<TrainingExample> examples = examples();
    List<List<String>> first = queries(new Batches(4, LastBatch.KEEP, 42).epoch(examples, 0));
    assertEquals(first, queries(new Batches(4, LastBatch.KEEP, 42).epoch(new ArrayList<>(examples), 0)));
    assertNotEquals(first, queries(new Batches(4, LastBatch.KEEP, 42).epoch(examples, 1)));
    assertNotEquals(first, queries(new Batches(4, LastBatch.KEEP, 43).epoch(examples, 0)));
    // the input list is left as it was
    assertEquals(examples(), examples);
    // shuffled: neither the examples nor the tasks come in input order
    List<String> flat = first.stream().flatMap(List::stream).toList();
    assertNotEquals(examples.stream().map(TrainingExample::query).toList(), flat);
  }

  @Test
  void theOrderIsPinned() {
    // java.util.Random's sequence is specified, so this order is the same on every JVM; a change here changes
    // every training run's batches
    List<TrainingExample> examples = examples().subList(0, 9); // tool, qa, icl x 3
    List<List<String>> batches = queries(new Batches(2, LastBatch.KEEP, 1).epoch(examples, 0));
    assertEquals(List.of(List.of("tool query 1", "tool query 2"), List.of("icl query 1"), List.of("qa query 1"),
        List.of("tool query 0"), List.of("icl query 0", "icl query 2"), List.of("qa query 0", "qa query 2")),
        batches);
  }

  @Test
  void argumentsAreChecked() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Batches(0, LastBatch.KEEP, 1));
    assertEquals("batchSize is 0; expected >= 1", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new Batches(2, LastBatch.KEEP, 1).epoch(examples(), -1));
    assertEquals("epoch is -1; expected >= 0", e.getMessage());
    List<TrainingExample> withNull = new ArrayList<>(examples());
    withNull.add(1, null);
    NullPointerException npe = assertThrows(NullPointerException.class,
        () -> new Batches(2, LastBatch.KEEP, 1).epoch(withNull, 0));
    assertEquals("examples holds null at position 1", npe.getMessage());
    TrainingExample qa = examples().get(1);
    e = assertThrows(IllegalArgumentException.class, () -> new Batch(Task.TOOL, List.of(qa)));
    assertTrue(e.getMessage().contains("holds an example of task qa"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new Batch(Task.TOOL, List.of()));
    assertEquals("batch of task tool is empty; expected at least one example", e.getMessage());
  }
}
