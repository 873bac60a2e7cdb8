package dev.llmembedder.index;

import java.util.Random;

/**
 * Unit vectors shaped like sentence embeddings: a low-dimensional Gaussian latent mapped into the full
 * dimension by a fixed random matrix, plus a little isotropic noise, then L2-normalised. Uniformly random
 * vectors would be a misleadingly hard (and unrealistic) test for graph search.
 */
final class SyntheticEmbeddings {
  private final int dimension;
  private final int latentDimension;
  private final float noise;
  private final float[][] projection; // [latentDimension][dimension]
  private final Random random;

  SyntheticEmbeddings(int dimension, int latentDimension, float noise, long seed) {
    this.dimension = dimension;
    this.latentDimension = latentDimension;
    this.noise = noise;
    Random matrixRandom = new Random(seed);
    this.projection = new float[latentDimension][dimension];
    for (float[] row : projection) {
      for (int j = 0; j < dimension; j++) {
        row[j] = (float) (matrixRandom.nextGaussian() / Math.sqrt(latentDimension));
      }
    }
    this.random = new Random(seed + 1);
  }

  float[] next() {
    double[] latent = new double[latentDimension];
    for (int i = 0; i < latentDimension; i++) {
      latent[i] = random.nextGaussian();
    }
    float[] v = new float[dimension];
    double norm = 0;
    for (int j = 0; j < dimension; j++) {
      double x = noise * random.nextGaussian();
      for (int i = 0; i < latentDimension; i++) {
        x += latent[i] * projection[i][j];
      }
      v[j] = (float) x;
      norm += x * x;
    }
    float scale = (float) (1 / Math.sqrt(norm));
    for (int j = 0; j < dimension; j++) {
      v[j] *= scale;
    }
    return v;
  }

  float[][] next(int count) {
    float[][] vectors = new float[count][];
    for (int i = 0; i < count; i++) {
      vectors[i] = next();
    }
    return vectors;
  }

  static float dot(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += (double) a[i] * b[i];
    }
    return (float) sum;
  }
}
