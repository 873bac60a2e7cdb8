package dev.llmembedder.benchmarks;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Unit vectors shaped like sentence embeddings, for search benchmarks: a point in a low-dimensional latent
 * space (one of a set of Gaussian clusters, plus a Gaussian offset within it), mapped into the full dimension
 * by a fixed random matrix, plus a little isotropic noise, then L2-normalised. The idea of the core module's
 * test generator ({@code SyntheticEmbeddings}: 32 latent dimensions, noise 0.05) with topical clusters added.
 * Uniformly random vectors would be unrealistic: no graph index reaches high recall on them.
 *
 * <p>Vector {@code i} depends only on the seed and {@code i}, so sets are generated in parallel and
 * reproducibly. Immutable and thread-safe.
 */
final class StructuredVectors {
  static final int LATENT_DIMENSION = 32;
  static final int CLUSTERS = 256;
  static final float WITHIN_CLUSTER_SPREAD = 0.75f;
  static final float NOISE = 0.05f;

  private final int dimension;
  private final long seed;
  private final float[][] projection; // [LATENT_DIMENSION][dimension]
  private final float[][] centres; // [CLUSTERS][LATENT_DIMENSION]

  StructuredVectors(int dimension, long seed) {
    this.dimension = dimension;
    this.seed = seed;
    SplittableRandom random = new SplittableRandom(seed);
    projection = new float[LATENT_DIMENSION][dimension];
    for (float[] row : projection) {
      for (int j = 0; j < dimension; j++) {
        row[j] = (float) (random.nextGaussian() / Math.sqrt(LATENT_DIMENSION));
      }
    }
    centres = new float[CLUSTERS][LATENT_DIMENSION];
    for (float[] centre : centres) {
      for (int i = 0; i < LATENT_DIMENSION; i++) {
        centre[i] = (float) random.nextGaussian();
      }
    }
  }

  /** Returns vector number {@code index} of the stream {@code stream} (e.g. 0 for the corpus, 1 for queries). */
  float[] vector(int stream, long index) {
    SplittableRandom random = new SplittableRandom(seed * 1_000_003L + stream * 7_919L + index * 0x9E3779B97F4A7C15L);
    float[] centre = centres[random.nextInt(CLUSTERS)];
    double[] latent = new double[LATENT_DIMENSION];
    for (int i = 0; i < LATENT_DIMENSION; i++) {
      latent[i] = centre[i] + WITHIN_CLUSTER_SPREAD * random.nextGaussian();
    }
    float[] v = new float[dimension];
    double norm = 0;
    for (int j = 0; j < dimension; j++) {
      double x = NOISE * random.nextGaussian();
      for (int i = 0; i < LATENT_DIMENSION; i++) {
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

  /** Returns vectors {@code 0 .. count-1} of {@code stream}, generated in parallel. */
  float[][] vectors(int stream, int count) {
    float[][] vectors = new float[count][];
    IntStream.range(0, count).parallel().forEach(i -> vectors[i] = vector(stream, i));
    return vectors;
  }
}
