package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.encoder.Task;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Synthetic but structured retrieval data: random unit keys {@code k_i}, and queries {@code q_i = normalize(R^T k_i
 * + noise)} for a fixed random rotation {@code R}. Without an adapter a query is nearly unrelated to its key; the
 * adapter {@code W = R} maps it back ({@code R R^T k_i = k_i}), so a trained adapter must find the keys. Negatives
 * come from a separate pool of distractor keys that no query is about, so that a negative is never another in-batch
 * query's positive (a false negative).
 */
final class Synthetic {
  final int dimension;
  final double[][] rotation;
  final float[][] keys;
  final float[][] queries;
  final float[][] distractors;
  private final Random random;

  Synthetic(int dimension, int count, int distractorCount, double noise, long seed) {
    this.dimension = dimension;
    this.random = new Random(seed);
    this.rotation = randomRotation(dimension, random);
    this.keys = new float[count][];
    this.queries = new float[count][];
    for (int i = 0; i < count; i++) {
      keys[i] = unit(gaussian(dimension, random));
      double[] q = new double[dimension];
      for (int a = 0; a < dimension; a++) {
        double s = 0;
        for (int b = 0; b < dimension; b++) {
          s += rotation[b][a] * keys[i][b]; // R^T k
        }
        q[a] = s + noise * random.nextGaussian();
      }
      queries[i] = unit(q);
    }
    this.distractors = new float[distractorCount][];
    for (int i = 0; i < distractorCount; i++) {
      distractors[i] = unit(gaussian(dimension, random));
    }
  }

  /**
   * Examples {@code from} to {@code to}: query i, its key as positive (candidate 0), {@code negatives} distractors,
   * and teacher scores {@code 10 k_j . k_i}: an oracle's preference, scaled so that with the default KL temperatures
   * (teacher 0.1, student 0.01) the student's optimum is exactly the true cosines.
   */
  List<EmbeddedExample> examples(int from, int to, int negatives) {
    List<EmbeddedExample> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      float[][] candidates = new float[1 + negatives][];
      double[] teacher = new double[1 + negatives];
      candidates[0] = keys[i];
      teacher[0] = 10;
      for (int k = 1; k <= negatives; k++) {
        float[] negative = distractors[random.nextInt(distractors.length)];
        candidates[k] = negative;
        teacher[k] = 10 * dot(negative, keys[i]);
      }
      out.add(new EmbeddedExample(queries[i], candidates, 0, teacher));
    }
    return out;
  }

  List<TrainingBatch> batches(int from, int to, int negatives, int batchSize) {
    return TrainingBatch.chunk(Task.QA, examples(from, to, negatives), batchSize);
  }

  /** Recall@1 of queries {@code from..to} among keys {@code from..to}, each query adapted first. */
  double recallAt1(QueryAdapter adapter, int from, int to) {
    int hits = 0;
    for (int i = from; i < to; i++) {
      float[] q = adapter.apply(queries[i]);
      int best = -1;
      double bestScore = Double.NEGATIVE_INFINITY;
      for (int j = from; j < to; j++) {
        double s = dot(q, keys[j]);
        if (s > bestScore) {
          bestScore = s;
          best = j;
        }
      }
      hits += best == i ? 1 : 0;
    }
    return hits / (double) (to - from);
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  static double[] gaussian(int d, Random random) {
    double[] v = new double[d];
    for (int i = 0; i < d; i++) {
      v[i] = random.nextGaussian();
    }
    return v;
  }

  static float[] unit(double[] v) {
    double norm = 0;
    for (double x : v) {
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] / norm);
    }
    return out;
  }

  /** Gram-Schmidt on a Gaussian matrix: a random orthogonal matrix (rows orthonormal). */
  static double[][] randomRotation(int d, Random random) {
    double[][] r = new double[d][];
    for (int i = 0; i < d; i++) {
      double[] v = gaussian(d, random);
      for (int j = 0; j < i; j++) {
        double p = 0;
        for (int a = 0; a < d; a++) {
          p += v[a] * r[j][a];
        }
        for (int a = 0; a < d; a++) {
          v[a] -= p * r[j][a];
        }
      }
      double norm = 0;
      for (double x : v) {
        norm += x * x;
      }
      norm = Math.sqrt(norm);
      for (int a = 0; a < d; a++) {
        v[a] /= norm;
      }
      r[i] = v;
    }
    return r;
  }
}
