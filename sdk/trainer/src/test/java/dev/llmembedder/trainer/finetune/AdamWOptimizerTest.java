package dev.llmembedder.trainer.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * AdamW's update on DJL arrays against the formulas of {@code torch.optim.AdamW} and
 * {@code torch.nn.utils.clip_grad_norm_}, computed in plain Java.
 */
class AdamWOptimizerTest {
  private static final float[] W0 = {1.0f, -2.0f, 0.5f};
  private static final float[] B0 = {0.25f, -0.75f, 3.0f};
  private static final double LR = 0.1;
  private static final double DECAY = 0.01;
  /** Gradients [step][parameter][element]: both parameters, the same each step. */
  private static final double[][][] SAME = {{{0.5, -1.0, 2.0}, {-0.25, 0.125, 4.0}},
      {{0.5, -1.0, 2.0}, {-0.25, 0.125, 4.0}}};
  /** A step with a global norm of 46.2, then one of 0.46: clipping to 1 changes their balance in the moments. */
  private static final double[][][] LARGE_THEN_SMALL = {{{5, -10, 20}, {-2.5, 1.25, 40}},
      {{0.05, 0.1, -0.2}, {0.025, -0.0125, 0.4}}};

  @Test
  void stepsAsPyTorchsAdamWWithDecayOnWeightsOnlyAndZeroesTheGradients() {
    assertSameWeights(expected(SAME, 0), twoSteps(SAME, 0));
  }

  @Test
  void clipsTheGlobalGradientNormBeforeTheUpdateAsClipGradNorm() {
    float[][] clipped = twoSteps(LARGE_THEN_SMALL, 1.0);
    assertSameWeights(expected(LARGE_THEN_SMALL, 1.0), clipped);
    // and clipping made a difference that the comparison above can see
    float[][] unclipped = expected(LARGE_THEN_SMALL, 0);
    double difference = 0;
    for (int p = 0; p < 2; p++) {
      for (int i = 0; i < 3; i++) {
        difference = Math.max(difference, Math.abs(unclipped[p][i] - clipped[p][i]));
      }
    }
    assertTrue(difference > 1e-3, "clipping changed the weights by only " + difference);
    // a norm above the gradients' changes nothing
    assertSameWeights(unclipped, twoSteps(LARGE_THEN_SMALL, 1000));
  }

  /** The weight's and the bias's values, {@code [parameter][element]}, to float precision. */
  private static void assertSameWeights(float[][] expected, float[][] actual) {
    assertArrayEquals(expected[0], actual[0], 1e-5f, "weight");
    assertArrayEquals(expected[1], actual[1], 1e-5f, "bias");
  }

  /** Two steps of the optimiser on a weight and a bias whose gradients are exactly {@code g[step]}. */
  private static float[][] twoSteps(double[][][] g, double maxGradNorm) {
    PyTorch.offline();
    try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
      Map<String, NDArray> parameters = new LinkedHashMap<>();
      parameters.put("layer.dense.weight", manager.create(W0.clone()));
      parameters.put("layer.dense.bias", manager.create(B0.clone()));
      parameters.values().forEach(p -> p.setRequiresGradient(true));
      AdamWOptimizer adamW = new AdamWOptimizer(parameters);
      for (int t = 1; t <= 2; t++) {
        try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
          NDArray loss = parameters.get("layer.dense.weight").mul(manager.create(toFloat(g[t - 1][0]))).sum()
              .add(parameters.get("layer.dense.bias").mul(manager.create(toFloat(g[t - 1][1]))).sum());
          collector.backward(loss);
        }
        adamW.step(parameters, t, LR, DECAY, maxGradNorm);
        assertArrayEquals(new float[3], parameters.get("layer.dense.weight").getGradient().toFloatArray(),
            "the step zeroes the gradients");
      }
      float[][] result = {parameters.get("layer.dense.weight").toFloatArray(),
          parameters.get("layer.dense.bias").toFloatArray()};
      adamW.close();
      return result;
    }
  }

  /** The same two steps by the formulas, in doubles. */
  private static float[][] expected(double[][][] g, double maxGradNorm) {
    double[][] w = {toDouble(W0), toDouble(B0)};
    double[][] m = new double[2][3];
    double[][] v = new double[2][3];
    for (int t = 1; t <= 2; t++) {
      double sumOfSquares = 0;
      for (double[] parameter : g[t - 1]) {
        for (double x : parameter) {
          sumOfSquares += x * x;
        }
      }
      double clip = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (Math.sqrt(sumOfSquares) + 1e-6)) : 1;
      for (int p = 0; p < 2; p++) {
        for (int i = 0; i < 3; i++) {
          double gradient = g[t - 1][p][i] * clip;
          if (p == 0) {
            w[p][i] *= 1 - LR * DECAY; // decoupled decay, weights only
          }
          m[p][i] = 0.9 * m[p][i] + 0.1 * gradient;
          v[p][i] = 0.999 * v[p][i] + 0.001 * gradient * gradient;
          double mHat = m[p][i] / (1 - Math.pow(0.9, t));
          double vHat = v[p][i] / (1 - Math.pow(0.999, t));
          w[p][i] -= LR * mHat / (Math.sqrt(vHat) + 1e-8);
        }
      }
    }
    return new float[][] {toFloat(w[0]), toFloat(w[1])};
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  private static float[] toFloat(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }
}
