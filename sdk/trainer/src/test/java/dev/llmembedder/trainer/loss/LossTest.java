package dev.llmembedder.trainer.loss;

import static java.lang.Math.log;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The three losses against hand-computed values and gradients, an independent brute-force implementation, and
 * central finite differences in double precision.
 */
class LossTest {
  /**
   * B = 2 queries, n = 2 candidates, tau = 0.5: scores chosen as tau * ln(e) so that exp(s / tau) = e, small
   * integers. Row 0: e = [4, 2, 1, 1] (own columns 0, 1); row 1: e = [1, 1, 3, 3] (own columns 2, 3).
   */
  private static final double[][] SCORES = {
      {0.5 * log(4), 0.5 * log(2), 0, 0},
      {0, 0, 0.5 * log(3), 0.5 * log(3)}};
  /** Teacher scores: softmax gives [3/4, 1/4] for row 0 and [1/4, 3/4] for row 1 (rank reversed). */
  private static final double[][] TEACHER = {{log(3), 0}, {0, log(3)}};

  @Test
  void infoNceByHand() {
    // row 0, positive 0 (column 0): softmax = e / 8 = [1/2, 1/4, 1/8, 1/8]; L0 = -ln 4 + ln 8 = ln 2
    // row 1, positive 1 (column 3): softmax = [1/8, 1/8, 3/8, 3/8]; L1 = -ln 3 + ln 8 = ln(8/3)
    // L = (ln 2 + ln(8/3)) / 2 = ln(16/3) / 2; gradient = (softmax - onehot) / (B tau) = softmax - onehot
    ScoreLoss.Result r = new InfoNceLoss(0.5).evaluate(SCORES, Targets.ofPositives(2, 0, 1));
    assertEquals(0.5 * log(16.0 / 3), r.value(), 1e-14);
    assertArrayEquals(new double[] {-1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 8}, r.gradient()[0], 1e-14);
    assertArrayEquals(new double[] {1.0 / 8, 1.0 / 8, 3.0 / 8, -5.0 / 8}, r.gradient()[1], 1e-14);
  }

  @Test
  void stabilizedDistillationByHand() {
    // alpha = 1: w0 = softmax([ln 3, 0]) = [3/4, 1/4], ranking (0, 1); w1 = [1/4, 3/4], ranking (1, 0).
    // Row 0 (e = [4, 2 | 1, 1]):
    //   k=0: candidate 0 against {0, 1} + in-batch {2, 3}: Z = 8, term ln(8/4) = ln 2, weight 3/4
    //   k=1: candidate 1 against {1} + in-batch: Z = 2 + 1 + 1 = 4, term ln(4/2) = ln 2, weight 1/4
    //   L0 = ln 2. Gradient (1/(B tau) = 1): col0 = 3/4 (4/8 - 1) = -3/8; col1 = 3/4 * 2/8 + 1/4 (2/4 - 1) = 1/16;
    //   col2 = col3 = 3/4 * 1/8 + 1/4 * 1/4 = 5/32
    // Row 1 (e = [1, 1 | 3, 3], own columns 2, 3):
    //   k=0: candidate 1 (column 3) against all: Z = 8, term ln(8/3), weight 3/4
    //   k=1: candidate 0 (column 2) against {2} + in-batch {0, 1}: Z = 5, term ln(5/3), weight 1/4
    //   Gradient: col0 = col1 = 3/4 * 1/8 + 1/4 * 1/5 = 23/160; col2 = 3/4 * 3/8 + 1/4 (3/5 - 1) = 29/160;
    //   col3 = 3/4 (3/8 - 1) = -75/160
    ScoreLoss.Result r = new StabilizedDistillationLoss(0.5, 1).evaluate(SCORES, Targets.ofTeacherScores(TEACHER));
    assertEquals((log(2) + 0.75 * log(8.0 / 3) + 0.25 * log(5.0 / 3)) / 2, r.value(), 1e-14);
    assertArrayEquals(new double[] {-3.0 / 8, 1.0 / 16, 5.0 / 32, 5.0 / 32}, r.gradient()[0], 1e-14);
    assertArrayEquals(new double[] {23.0 / 160, 23.0 / 160, 29.0 / 160, -75.0 / 160}, r.gradient()[1], 1e-14);
  }

  @Test
  void klDistillationByHand() {
    // student tau 0.5, teacher temperature 1: p0 = [3/4, 1/4], q0 = [4, 2] / 6 = [2/3, 1/3];
    // p1 = [1/4, 3/4], q1 = [3, 3] / 6 = [1/2, 1/2]. KL0 = 3/4 ln(9/8) + 1/4 ln(3/4), KL1 = 1/4 ln(1/2) + 3/4 ln(3/2).
    // Gradient on own columns (q - p) / (B tau) = q - p; in-batch columns 0.
    ScoreLoss.Result r = new KlDistillationLoss(0.5, 1).evaluate(SCORES, Targets.ofTeacherScores(TEACHER));
    double kl0 = 0.75 * log(9.0 / 8) + 0.25 * log(0.75);
    double kl1 = 0.25 * log(0.5) + 0.75 * log(1.5);
    assertEquals((kl0 + kl1) / 2, r.value(), 1e-14);
    assertArrayEquals(new double[] {-1.0 / 12, 1.0 / 12, 0, 0}, r.gradient()[0], 1e-14);
    assertArrayEquals(new double[] {0, 0, 1.0 / 4, -1.0 / 4}, r.gradient()[1], 1e-14);
  }

  @Test
  void klIsZeroWhenTheStudentMatchesTheTeacher() {
    // own columns s = [0.3, -0.2] and [-0.1, 0.2], teacher r = 10 s: s / 0.01 = r / 0.1 = 100 s, so p = q
    double[][] scores = {{0.3, -0.2, 0.1, 0.5}, {0.0, 0.4, -0.1, 0.2}};
    double[][] teacher = {{3.0, -2.0}, {-1.0, 2.0}};
    ScoreLoss.Result r = new KlDistillationLoss(0.01, 0.1).evaluate(scores, Targets.ofTeacherScores(teacher));
    assertEquals(0, r.value(), 1e-12);
    for (double[] row : r.gradient()) {
      assertArrayEquals(new double[4], row, 1e-10);
    }
    // a teacher so sure that p underflows to [1, 0]: the p = 0 term counts 0, L = -log q[0]
    double[][] sure = {{0, -1e4}, {0, -1e4}};
    ScoreLoss.Result s = new KlDistillationLoss(0.5, 0.1).evaluate(SCORES, Targets.ofTeacherScores(sure));
    assertEquals((-log(4.0 / 6) - log(0.5)) / 2, s.value(), 1e-14);
  }

  @Test
  void stabilizedDistillationWithOneCandidateIsInfoNce() {
    Random random = new Random(1);
    double[][] scores = uniform(random, 5, 5);
    double[][] teacher = new double[5][1];
    ScoreLoss.Result s = new StabilizedDistillationLoss(0.05, 1).evaluate(scores, new Targets(1, null, teacher));
    ScoreLoss.Result c = new InfoNceLoss(0.05).evaluate(scores, Targets.ofPositives(1, 0, 0, 0, 0, 0));
    assertEquals(c.value(), s.value(), 1e-12);
    for (int b = 0; b < 5; b++) {
      assertArrayEquals(c.gradient()[b], s.gradient()[b], 1e-12);
    }
  }

  @Test
  void stabilizedDistillationMatchesABruteForceMaskedImplementation() {
    Random random = new Random(2);
    for (int trial = 0; trial < 20; trial++) {
      int batch = 1 + random.nextInt(4);
      int n = 1 + random.nextInt(5);
      double tau = trial % 2 == 0 ? 0.01 : 0.2;
      double alpha = 0.3 + random.nextDouble();
      double[][] scores = uniform(random, batch, batch * n);
      double[][] teacher = uniform(random, batch, n);
      if (n > 2) {
        teacher[0][1] = teacher[0][2]; // a tie: keeps candidate order
      }
      double expected = bruteForceStabilized(scores, teacher, n, tau, alpha);
      double actual = new StabilizedDistillationLoss(tau, alpha).evaluate(scores, Targets.ofTeacherScores(teacher))
          .value();
      assertEquals(expected, actual, 1e-10 * Math.max(1, Math.abs(expected)), "trial " + trial);
    }
  }

  @Test
  void gradientsMatchCentralFiniteDifferences() {
    Random random = new Random(3);
    double maxError = 0;
    for (int trial = 0; trial < 30; trial++) {
      int batch = 1 + random.nextInt(4);
      int n = 1 + random.nextInt(4);
      double tau = trial % 3 == 0 ? InfoNceLoss.DEFAULT_TEMPERATURE : 0.05 + random.nextDouble() * 0.5;
      double[][] scores = uniform(random, batch, batch * n);
      int[] positives = IntStream.range(0, batch).map(b -> random.nextInt(n)).toArray();
      double[][] teacher = uniform(random, batch, n);
      Targets targets = new Targets(n, positives, teacher);
      List<ScoreLoss> losses = List.of(new InfoNceLoss(tau), new StabilizedDistillationLoss(tau, 0.7),
          new KlDistillationLoss(tau, 0.1 + random.nextDouble()),
          CompositeLoss.of(0.2, new InfoNceLoss(tau), 1.0, new StabilizedDistillationLoss(tau, 1)));
      for (ScoreLoss loss : losses) {
        double error = maxFiniteDifferenceError(loss, scores, targets);
        maxError = Math.max(maxError, error);
        assertTrue(error < 1e-6, loss + " trial " + trial + ": max relative error " + error);
      }
    }
    System.out.printf("loss gradients vs central differences: max relative error %.3g%n", maxError);
  }

  @Test
  void compositeIsTheWeightedSum() {
    Targets targets = new Targets(2, new int[] {0, 1}, TEACHER);
    ScoreLoss.Result c = new InfoNceLoss(0.5).evaluate(SCORES, targets);
    ScoreLoss.Result s = new StabilizedDistillationLoss(0.5, 1).evaluate(SCORES, targets);
    ScoreLoss.Result both = CompositeLoss.of(0.2, new InfoNceLoss(0.5), 1.0, new StabilizedDistillationLoss(0.5, 1))
        .evaluate(SCORES, targets);
    assertEquals(0.2 * c.value() + s.value(), both.value(), 1e-14);
    for (int b = 0; b < 2; b++) {
      for (int j = 0; j < 4; j++) {
        assertEquals(0.2 * c.gradient()[b][j] + s.gradient()[b][j], both.gradient()[b][j], 1e-14);
      }
    }
  }

  @Test
  void tinyTemperaturesStayFinite() {
    // tau = 1e-4 puts exponents at +-1e4: exp overflows unless every term is shifted
    double[][] scores = {{1, -1, -1, 0.999}, {-1, 1, 0.5, -0.2}};
    Targets targets = new Targets(2, new int[] {1, 0}, new double[][] {{0, 5}, {-3, 2}});
    for (ScoreLoss loss : List.of(new InfoNceLoss(1e-4), new StabilizedDistillationLoss(1e-4, 1e-3),
        new KlDistillationLoss(1e-4, 1e-3))) {
      ScoreLoss.Result r = loss.evaluate(scores, targets);
      assertTrue(Double.isFinite(r.value()) && r.value() >= 0, loss + ": " + r.value());
      for (double[] row : r.gradient()) {
        for (double g : row) {
          assertTrue(Double.isFinite(g), loss + ": gradient " + g);
        }
      }
    }
  }

  @Test
  void gradientsAreAddedScaled() {
    double[][] gradient = {{1, 1, 1, 1}, {1, 1, 1, 1}};
    new InfoNceLoss(0.5).accumulate(SCORES, Targets.ofPositives(2, 0, 1), 2.0, gradient);
    assertArrayEquals(new double[] {1 - 1.0, 1 + 1.0 / 2, 1 + 1.0 / 4, 1 + 1.0 / 4}, gradient[0], 1e-14);
  }

  @Test
  void badInputIsNamed() {
    assertEquals("positives[1] is 2; allowed: 0 to 1 (an index among the query's 2 candidates)",
        assertThrows(IllegalArgumentException.class, () -> Targets.ofPositives(2, 0, 2)).getMessage());
    assertEquals("teacherScores[0][1] is NaN; scores must be finite", assertThrows(IllegalArgumentException.class,
        () -> Targets.ofTeacherScores(new double[][] {{0, Double.NaN}})).getMessage());
    assertEquals("teacherScores[1] has length 1; expected 2 (one per candidate)", assertThrows(
        IllegalArgumentException.class, () -> new Targets(2, null, new double[][] {{0, 1}, {0}})).getMessage());
    assertEquals("targets have 2 positives but 1 rows of teacher scores; expected one of each per query",
        assertThrows(IllegalArgumentException.class,
            () -> new Targets(2, new int[] {0, 0}, new double[][] {{0, 1}})).getMessage());
    assertEquals("InfoNceLoss needs the positives (hard labels); the targets have only teacher scores",
        assertThrows(IllegalArgumentException.class,
            () -> new InfoNceLoss().evaluate(SCORES, Targets.ofTeacherScores(TEACHER))).getMessage());
    assertEquals("StabilizedDistillationLoss needs the teacher's scores; the targets have only positives",
        assertThrows(IllegalArgumentException.class,
            () -> new StabilizedDistillationLoss().evaluate(SCORES, Targets.ofPositives(2, 0, 0))).getMessage());
    assertEquals("InfoNceLoss: scores[1] has length 3; expected 4 (batch 2 x candidates 2)",
        assertThrows(IllegalArgumentException.class, () -> new InfoNceLoss().evaluate(
            new double[][] {{0, 0, 0, 0}, {0, 0, 0}}, Targets.ofPositives(2, 0, 0))).getMessage());
    assertEquals("temperature is 0.0; must be positive and finite",
        assertThrows(IllegalArgumentException.class, () -> new InfoNceLoss(0)).getMessage());
    assertEquals("alpha is NaN; must be positive and finite",
        assertThrows(IllegalArgumentException.class, () -> new StabilizedDistillationLoss(0.01, Double.NaN))
            .getMessage());
  }

  // ---------------------------------------------------------------------------------------------- helpers

  static double[][] uniform(Random random, int rows, int columns) {
    double[][] m = new double[rows][columns];
    for (double[] row : m) {
      for (int j = 0; j < columns; j++) {
        row[j] = 2 * random.nextDouble() - 1;
      }
    }
    return m;
  }

  /**
   * Max over entries of |analytic - numeric| / max(1, |numeric|), numeric = (L(s + h) - L(s - h)) / 2h. The step
   * scales with the temperature (second derivatives grow like 1 / tau^2).
   */
  static double maxFiniteDifferenceError(ScoreLoss loss, double[][] scores, Targets targets) {
    double[][] analytic = loss.evaluate(scores, targets).gradient();
    double h = 1e-6;
    double max = 0;
    for (int b = 0; b < scores.length; b++) {
      for (int j = 0; j < scores[b].length; j++) {
        double keep = scores[b][j];
        scores[b][j] = keep + h;
        double plus = loss.evaluate(scores, targets).value();
        scores[b][j] = keep - h;
        double minus = loss.evaluate(scores, targets).value();
        scores[b][j] = keep;
        double numeric = (plus - minus) / (2 * h);
        max = Math.max(max, Math.abs(analytic[b][j] - numeric) / Math.max(1, Math.abs(numeric)));
      }
    }
    return max;
  }

  /**
   * FlagEmbedding's formulation literally: for each rank i, a cross entropy over the row with the query's
   * higher-ranked candidates masked out, weighted by softmax(r / alpha)[i], averaged over the batch, summed over i.
   */
  private static double bruteForceStabilized(double[][] scores, double[][] teacher, int n, double tau, double alpha) {
    int batch = scores.length;
    double total = 0;
    for (int b = 0; b < batch; b++) {
      double[] r = teacher[b];
      double z = 0;
      for (double v : r) {
        z += Math.exp(v / alpha);
      }
      List<Integer> ranking = new ArrayList<>(IntStream.range(0, n).boxed().toList());
      ranking.sort(Comparator.comparingDouble((Integer k) -> -r[k])); // stable: ties keep index order
      for (int i = 0; i < n; i++) {
        int target = b * n + ranking.get(i);
        List<Integer> masked = new ArrayList<>();
        for (int above = 0; above < i; above++) {
          masked.add(b * n + ranking.get(above));
        }
        double sum = 0;
        for (int j = 0; j < batch * n; j++) {
          if (!masked.contains(j)) {
            sum += Math.exp(scores[b][j] / tau - 1 / tau); // shifted by the largest possible score, 1
          }
        }
        double crossEntropy = Math.log(sum) + 1 / tau - scores[b][target] / tau;
        total += Math.exp(r[ranking.get(i)] / alpha) / z * crossEntropy;
      }
    }
    return total / batch;
  }
}
