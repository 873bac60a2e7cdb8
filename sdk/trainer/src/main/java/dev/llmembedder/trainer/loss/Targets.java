package dev.llmembedder.trainer.loss;

import java.util.Arrays;

/**
 * What a batch's scores are measured against: for each of its {@code B} queries, which of its {@code n} candidates is
 * the positive (the hard label, for {@link InfoNceLoss}) and the teacher's (the LLM's) score of each candidate (for
 * the distillation losses). Either may be absent when no loss in use needs it.
 *
 * <p>The arrays are not copied (training holds many batches): do not modify them afterwards. Equality is identity.
 *
 * <p><b>Thread-safety.</b> The arrays are not copied: they are shared with the caller and must not be changed while in use; safe to read from several threads.
 *
 * @param candidatesPerQuery {@code n}, at least 1
 * @param positives {@code int[B]}, each in {@code [0, n)}: the index of the query's positive among its own
 *     candidates; or null
 * @param teacherScores {@code double[B][n]}, finite: the teacher's score of each of the query's candidates (higher is
 *     better); or null
 */
public record Targets(int candidatesPerQuery, int[] positives, double[][] teacherScores) {
  /**
   * @throws IllegalArgumentException naming the bad count, index or value, or if both arrays are null or differ in
   *     length
   */
  public Targets {
    if (candidatesPerQuery < 1) {
      throw new IllegalArgumentException("candidatesPerQuery is " + candidatesPerQuery + "; must be at least 1");
    }
    if (positives == null && teacherScores == null) {
      throw new IllegalArgumentException("targets have neither positives nor teacher scores; give at least one");
    }
    if (positives != null && teacherScores != null && positives.length != teacherScores.length) {
      throw new IllegalArgumentException("targets have " + positives.length + " positives but " + teacherScores.length
          + " rows of teacher scores; expected one of each per query");
    }
    if (positives != null) {
      for (int b = 0; b < positives.length; b++) {
        if (positives[b] < 0 || positives[b] >= candidatesPerQuery) {
          throw new IllegalArgumentException("positives[" + b + "] is " + positives[b] + "; allowed: 0 to "
              + (candidatesPerQuery - 1) + " (an index among the query's " + candidatesPerQuery + " candidates)");
        }
      }
    }
    if (teacherScores != null) {
      for (int b = 0; b < teacherScores.length; b++) {
        double[] row = teacherScores[b];
        if (row == null || row.length != candidatesPerQuery) {
          throw new IllegalArgumentException("teacherScores[" + b + "] has " + (row == null ? "null" : "length "
              + row.length) + "; expected " + candidatesPerQuery + " (one per candidate)");
        }
        for (int k = 0; k < row.length; k++) {
          if (!Double.isFinite(row[k])) {
            throw new IllegalArgumentException("teacherScores[" + b + "][" + k + "] is " + row[k]
                + "; scores must be finite");
          }
        }
      }
    }
  }

  /** Hard labels only. */
  public static Targets ofPositives(int candidatesPerQuery, int... positives) {
    return new Targets(candidatesPerQuery, positives, null);
  }

  /** Teacher scores only; {@code n} is their row length. */
  public static Targets ofTeacherScores(double[][] teacherScores) {
    if (teacherScores == null || teacherScores.length == 0 || teacherScores[0] == null) {
      throw new IllegalArgumentException("teacherScores is " + (teacherScores == null ? "null" : "empty")
          + "; expected double[B][n] with B >= 1");
    }
    return new Targets(teacherScores[0].length, null, teacherScores);
  }

  /** The number of queries {@code B}. */
  public int batchSize() {
    return positives != null ? positives.length : teacherScores.length;
  }

  /**
   * Checks that {@code scores} and {@code gradient} are {@code double[B][B * n]} for these targets (for
   * {@link ScoreLoss} implementations).
   *
   * @param loss the loss's name, for the message
   * @throws IllegalArgumentException naming the loss and the first row of another length
   */
  public void checkShapes(double[][] scores, double[][] gradient, String loss) {
    int batch = batchSize();
    int columns = batch * candidatesPerQuery;
    checkMatrix(scores, "scores", batch, columns, loss);
    checkMatrix(gradient, "gradient", batch, columns, loss);
  }

  private static void checkMatrix(double[][] m, String name, int rows, int columns, String loss) {
    if (m == null || m.length != rows) {
      throw new IllegalArgumentException(loss + ": " + name + " has " + (m == null ? "null" : m.length + " rows")
          + "; expected " + rows + " (one per query of the targets)");
    }
    for (int b = 0; b < rows; b++) {
      if (m[b] == null || m[b].length != columns) {
        throw new IllegalArgumentException(loss + ": " + name + "[" + b + "] has " + (m[b] == null ? "null"
            : "length " + m[b].length) + "; expected " + columns + " (batch " + rows + " x candidates "
            + columns / rows + ")");
      }
    }
  }

  @Override
  public String toString() {
    return "Targets[n=" + candidatesPerQuery + ", positives=" + Arrays.toString(positives) + ", teacherScores="
        + Arrays.deepToString(teacherScores) + "]";
  }
}
