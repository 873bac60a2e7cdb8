package dev.llmembedder.trainer.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AdamW's update on DJL arrays against the formula of {@code torch.optim.AdamW}, computed in plain Java. */
class AdamWOptimizerTest {
  @Test
  void stepsAsPyTorchsAdamWWithDecayOnWeightsOnlyAndZeroesTheGradients() {
    PyTorch.offline();
    try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu(), "PyTorch")) {
      float[] w0 = {1.0f, -2.0f, 0.5f};
      float[] b0 = {0.25f, -0.75f, 3.0f};
      Map<String, NDArray> parameters = new LinkedHashMap<>();
      parameters.put("layer.dense.weight", manager.create(w0.clone()));
      parameters.put("layer.dense.bias", manager.create(b0.clone()));
      parameters.values().forEach(p -> p.setRequiresGradient(true));
      AdamWOptimizer adamW = new AdamWOptimizer(parameters);
      double lr = 0.1;
      double decay = 0.01;
      double[][] g = {{0.5, -1.0, 2.0}, {-0.25, 0.125, 4.0}};
      // expected: two steps of torch.optim.AdamW on each parameter, with the same gradients each step
      double[][] w = {toDouble(w0), toDouble(b0)};
      double[][] m = new double[2][3];
      double[][] v = new double[2][3];
      for (int t = 1; t <= 2; t++) {
        try (GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
          NDArray loss = parameters.get("layer.dense.weight").mul(manager.create(toFloat(g[0]))).sum()
              .add(parameters.get("layer.dense.bias").mul(manager.create(toFloat(g[1]))).sum());
          collector.backward(loss); // gradients: exactly g
        }
        adamW.step(parameters, t, lr, decay);
        for (int p = 0; p < 2; p++) {
          for (int i = 0; i < 3; i++) {
            if (p == 0) {
              w[p][i] *= 1 - lr * decay; // decoupled decay, weights only
            }
            m[p][i] = 0.9 * m[p][i] + 0.1 * g[p][i];
            v[p][i] = 0.999 * v[p][i] + 0.001 * g[p][i] * g[p][i];
            double mHat = m[p][i] / (1 - Math.pow(0.9, t));
            double vHat = v[p][i] / (1 - Math.pow(0.999, t));
            w[p][i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
          }
        }
      }
      assertArrayEquals(toFloat(w[0]), parameters.get("layer.dense.weight").toFloatArray(), 1e-5f);
      assertArrayEquals(toFloat(w[1]), parameters.get("layer.dense.bias").toFloatArray(), 1e-5f);
      assertArrayEquals(new float[3], parameters.get("layer.dense.weight").getGradient().toFloatArray());
      adamW.close();
    }
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
