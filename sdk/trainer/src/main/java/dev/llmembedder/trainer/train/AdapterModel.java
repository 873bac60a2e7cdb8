package dev.llmembedder.trainer.train;

import dev.llmembedder.encoder.QueryAdapter;
import dev.llmembedder.trainer.loss.ScoreLoss;
import dev.llmembedder.trainer.loss.Targets;
import java.util.Arrays;

/**
 * The trainable query adapter in double precision, with its forward pass and analytic backward pass. For query
 * {@code q} (the frozen encoder's embedding) and candidate keys {@code k_j}:
 *
 * <pre>
 *   z = W q + b,   u = z / |z|,   s_j = u . k_j,   L = loss(s)
 *   dL/du = sum_j (dL/ds_j) k_j
 *   dL/dz = (dL/du - u (u . dL/du)) / |z|        (the Jacobian of normalisation, (I - u u^T) / |z|)
 *   dL/dW = (dL/dz) q^T,   dL/db = dL/dz
 * </pre>
 *
 * summed over the batch's queries. Weights are row-major {@code W[i * d + j]}. Not thread-safe; the scratch arrays of
 * a {@link Workspace} are reused from batch to batch.
 */
final class AdapterModel {
  final int dimension;
  /** {@code [d * d]}, row-major. */
  final double[] weights;
  /** {@code [d]}, or null without a bias. */
  final double[] bias;

  AdapterModel(int dimension, double[] weights, double[] bias) {
    this.dimension = dimension;
    this.weights = weights;
    this.bias = bias;
  }

  static AdapterModel identity(int dimension, boolean bias) {
    double[] w = new double[dimension * dimension];
    for (int i = 0; i < dimension; i++) {
      w[i * dimension + i] = 1;
    }
    return new AdapterModel(dimension, w, bias ? new double[dimension] : null);
  }

  QueryAdapter toAdapter(String modelName) {
    float[][] w = new float[dimension][dimension];
    for (int i = 0; i < dimension; i++) {
      for (int j = 0; j < dimension; j++) {
        w[i][j] = (float) weights[i * dimension + j];
      }
    }
    float[] b = null;
    if (bias != null) {
      b = new float[dimension];
      for (int i = 0; i < dimension; i++) {
        b[i] = (float) bias[i];
      }
    }
    return QueryAdapter.of(modelName, w, b);
  }

  /** Scratch arrays for one batch shape, reallocated only when the shape changes. */
  static final class Workspace {
    private int batch = -1;
    private int columns = -1;
    double[][] z;
    double[][] u;
    double[] norms;
    double[][] scores;
    double[][] scoreGradient;
    double[] unitGradient;
    float[][] keys;

    void ensure(int batch, int n, int dimension) {
      if (batch != this.batch || batch * n != columns || (z != null && z[0].length != dimension)) {
        this.batch = batch;
        this.columns = batch * n;
        z = new double[batch][dimension];
        u = new double[batch][dimension];
        norms = new double[batch];
        scores = new double[batch][columns];
        scoreGradient = new double[batch][columns];
        unitGradient = new double[dimension];
        keys = new float[columns][];
      }
    }
  }

  /**
   * The forward pass: fills {@code ws.u} and {@code ws.scores} for {@code batch}.
   *
   * @throws IllegalArgumentException if the batch's dimension is not the model's
   */
  void forward(TrainingBatch batch, Workspace ws) {
    if (batch.dimension() != dimension) {
      throw new IllegalArgumentException("a " + batch.task().id() + " batch has dimension " + batch.dimension()
          + "; the adapter has " + dimension);
    }
    int size = batch.size();
    int n = batch.candidatesPerQuery();
    int d = dimension;
    ws.ensure(size, n, d);
    for (int c = 0; c < size; c++) {
      float[][] candidates = batch.examples().get(c).candidates();
      for (int k = 0; k < n; k++) {
        ws.keys[c * n + k] = candidates[k];
      }
    }
    for (int b = 0; b < size; b++) {
      float[] q = batch.examples().get(b).query();
      double[] z = ws.z[b];
      double norm = 0;
      for (int i = 0; i < d; i++) {
        double s = bias != null ? bias[i] : 0;
        int row = i * d;
        for (int j = 0; j < d; j++) {
          s += weights[row + j] * q[j];
        }
        z[i] = s;
        norm += s * s;
      }
      norm = Math.sqrt(norm);
      ws.norms[b] = norm;
      double inv = norm > 0 ? 1 / norm : 0;
      double[] u = ws.u[b];
      for (int i = 0; i < d; i++) {
        u[i] = z[i] * inv;
      }
      double[] scores = ws.scores[b];
      for (int j = 0; j < size * n; j++) {
        float[] key = ws.keys[j];
        double s = 0;
        for (int i = 0; i < d; i++) {
          s += u[i] * key[i];
        }
        scores[j] = s;
      }
    }
  }

  /** The loss of {@code batch}, without gradients. */
  double loss(TrainingBatch batch, ScoreLoss loss, Workspace ws) {
    forward(batch, ws);
    return loss.accumulate(ws.scores, batch.targets(), 0.0, ws.scoreGradient); // adds 0: the gradient is unused
  }

  /**
   * The loss of {@code batch}; adds its gradient with respect to the weights to {@code weightGradient} ({@code [d *
   * d]}) and with respect to the bias to {@code biasGradient} ({@code [d]}, or null without a bias).
   */
  double lossAndGradient(TrainingBatch batch, ScoreLoss loss, Workspace ws, double[] weightGradient,
      double[] biasGradient) {
    forward(batch, ws);
    int size = batch.size();
    int columns = size * batch.candidatesPerQuery();
    int d = dimension;
    for (double[] row : ws.scoreGradient) {
      Arrays.fill(row, 0);
    }
    Targets targets = batch.targets();
    double value = loss.accumulate(ws.scores, targets, 1.0, ws.scoreGradient);
    double[] gu = ws.unitGradient;
    for (int b = 0; b < size; b++) {
      Arrays.fill(gu, 0);
      double[] gs = ws.scoreGradient[b];
      for (int j = 0; j < columns; j++) {
        double g = gs[j];
        if (g != 0) {
          float[] key = ws.keys[j];
          for (int i = 0; i < d; i++) {
            gu[i] += g * key[i];
          }
        }
      }
      double norm = ws.norms[b];
      if (norm == 0) {
        continue; // W q + b = 0: no direction, no gradient
      }
      double[] u = ws.u[b];
      double projection = 0;
      for (int i = 0; i < d; i++) {
        projection += u[i] * gu[i];
      }
      float[] q = batch.examples().get(b).query();
      for (int i = 0; i < d; i++) {
        double gz = (gu[i] - u[i] * projection) / norm;
        if (biasGradient != null) {
          biasGradient[i] += gz;
        }
        int row = i * d;
        for (int j = 0; j < d; j++) {
          weightGradient[row + j] += gz * q[j];
        }
      }
    }
    return value;
  }
}
