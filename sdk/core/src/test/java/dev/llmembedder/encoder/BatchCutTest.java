package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Encoder#cutBatches}: the cut of length-sorted texts into model runs. */
class BatchCutTest {

  @Test
  void textsOfEqualLengthGoTogetherAndUnequalOnesAreNotPaddedForNothing() {
    int[] lengths = {10, 10, 10, 10, 40, 40, 40, 40};
    // one batch of 8 pads the four 10-token texts to 40: 120 padded tokens, more than a second run costs
    assertEquals(List.of("[0, 4]", "[4, 8]"), show(Encoder.cutBatches(lengths, 32, 2048, 8)));
    // texts of 10 and 11 tokens: one token of padding each is cheaper than another run
    assertEquals(List.of("[0, 8]"), show(Encoder.cutBatches(new int[] {10, 10, 10, 10, 11, 11, 11, 11}, 32, 2048, 8)));
    // without a run cost every distinct length runs alone
    assertEquals(List.of("[0, 4]", "[4, 8]"),
        show(Encoder.cutBatches(new int[] {10, 10, 10, 10, 11, 11, 11, 11}, 32, 2048, 0)));
  }

  @Test
  void theCapsHoldAndALongTextRunsAlone() {
    int[] lengths = new int[100];
    Arrays.fill(lengths, 20);
    List<int[]> batches = Encoder.cutBatches(lengths, 32, 2048, 8);
    assertEquals(4, batches.size()); // 32 + 32 + 32 + 4 (or any split of 100 into 4 runs of at most 32)
    batches.forEach(b -> assertTrue(b[1] - b[0] <= 32, Arrays.toString(b)));
    List<int[]> byTokens = Encoder.cutBatches(lengths, 32, 200, 8);
    byTokens.forEach(b -> assertTrue((b[1] - b[0]) * 20 <= 200, Arrays.toString(b)));
    assertEquals(10, byTokens.size());
    assertEquals(List.of("[0, 1]", "[1, 2]"), show(Encoder.cutBatches(new int[] {600, 700}, 32, 512, 8)));
  }

  @Test
  void theCutIsContiguousCompleteAndAsCheapAsAnyOther() {
    Random random = new Random(7);
    for (int trial = 0; trial < 300; trial++) {
      int n = 1 + random.nextInt(12);
      int[] lengths = random.ints(n, 2, 80).sorted().toArray();
      int maxRows = 1 + random.nextInt(6);
      int maxTokens = 40 + random.nextInt(300);
      int runCost = random.nextInt(20);
      List<int[]> batches = Encoder.cutBatches(lengths, maxRows, maxTokens, runCost);
      int next = 0;
      for (int[] b : batches) {
        assertEquals(next, b[0]);
        assertTrue(b[1] > b[0] && b[1] - b[0] <= maxRows);
        assertTrue(b[1] - b[0] == 1 || (b[1] - b[0]) * lengths[b[1] - 1] <= maxTokens);
        next = b[1];
      }
      assertEquals(n, next);
      assertEquals(bruteForce(lengths, 0, maxRows, maxTokens, runCost), cost(batches, lengths, runCost),
          () -> Arrays.toString(lengths) + " rows " + maxRows + " tokens " + maxTokens + " cost " + runCost);
    }
    assertArrayEquals(new int[] {0, 1}, Encoder.cutBatches(new int[] {5}, 1, 1, 0).get(0));
    assertTrue(Encoder.cutBatches(new int[0], 32, 2048, 8).isEmpty());
  }

  private static long cost(List<int[]> batches, int[] lengths, int runCost) {
    return batches.stream().mapToLong(b -> (long) (b[1] - b[0]) * lengths[b[1] - 1] + runCost).sum();
  }

  /** The cheapest cut of {@code lengths[from..]} by trying every first batch. */
  private static long bruteForce(int[] lengths, int from, int maxRows, int maxTokens, int runCost) {
    if (from == lengths.length) {
      return 0;
    }
    long best = Long.MAX_VALUE;
    for (int end = from + 1; end <= lengths.length && end - from <= maxRows; end++) {
      long padded = (long) (end - from) * lengths[end - 1];
      if (end - from > 1 && padded > maxTokens) {
        break;
      }
      best = Math.min(best, padded + runCost + bruteForce(lengths, end, maxRows, maxTokens, runCost));
    }
    return best;
  }

  private static List<String> show(List<int[]> batches) {
    return batches.stream().map(Arrays::toString).toList();
  }
}
