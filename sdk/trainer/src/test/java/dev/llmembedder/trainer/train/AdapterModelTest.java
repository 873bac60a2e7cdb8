package dev.llmembedder.trainer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.llmembedder.encoder.Task;
import dev.llmembedder.trainer.loss.CompositeLoss;
import dev.llmembedder.trainer.loss.InfoNceLoss;
import dev.llmembedder.trainer.loss.KlDistillationLoss;
import dev.llmembedder.trainer.loss.ScoreLoss;
import dev.llmembedder.trainer.loss.StabilizedDistillationLoss;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The adapter's forward pass and its analytic gradients through normalisation and the linear map. */
class AdapterModelTest {
  @Test
  void forwardByHand() {
    // d = 2, W = [[2, 0], [1, 1]], b = [0, 1], q = [0.6, 0.8]: W q + b = [1.2, 2.4], u = [1, 2] / sqrt 5.
    // Keys [1, 0] and [0, 1]: scores u . k = 1 / sqrt 5 and 2 / sqrt 5.
    AdapterModel model = new AdapterModel(2, new double[] {2, 0, 1, 1}, new double[] {0, 1});
    TrainingBatch batch = new TrainingBatch(Task.QA, List.of(new EmbeddedExample(new float[] {0.6f, 0.8f},
        new float[][] {{1, 0}, {0, 1}}, 1, null)));
    AdapterModel.Workspace ws = new AdapterModel.Workspace();
    model.forward(batch, ws);
    assertArrayEquals(new double[] {1 / Math.sqrt(5), 2 / Math.sqrt(5)}, ws.scores[0], 1e-7);
    assertEquals(Math.sqrt(7.2), ws.norms[0], 1e-7);
  }

  @Test
  void gradientByHand() {
    // One query, two candidates, tau = 1, d = 2, W = I, b = 0, q = [1, 0],
    // keys k0 = [1, 0] (positive), k1 = [0, 1]: s = [1, 0], softmax = [e, 1] / (e + 1) = [p, 1 - p] with
    // p = 0.7310586; dL/ds = [p - 1, 1 - p]. dL/du = (p - 1) k0 + (1 - p) k1 = [p - 1, 1 - p].
    // |z| = 1, u = [1, 0]: dL/dz = dL/du - u (u . dL/du) = [0, 1 - p]. dL/dW = dL/dz q^T = [[0, 0], [1 - p, 0]],
    // dL/db = [0, 1 - p].
    AdapterModel model = AdapterModel.identity(2, true);
    TrainingBatch batch = new TrainingBatch(Task.QA, List.of(new EmbeddedExample(new float[] {1, 0},
        new float[][] {{1, 0}, {0, 1}}, 0, null)));
    double[] gw = new double[4];
    double[] gb = new double[2];
    double loss = model.lossAndGradient(batch, new InfoNceLoss(1), new AdapterModel.Workspace(), gw, gb);
    double p = Math.E / (Math.E + 1);
    assertEquals(-Math.log(p), loss, 1e-12);
    assertArrayEquals(new double[] {0, 0, 1 - p, 0}, gw, 1e-12);
    assertArrayEquals(new double[] {0, 1 - p}, gb, 1e-12);
  }

  @Test
  void gradientsOfTheWholeChainMatchCentralFiniteDifferences() {
    Random random = new Random(7);
    int d = 6;
    double maxError = 0;
    List<ScoreLoss> losses = List.of(new InfoNceLoss(), new InfoNceLoss(0.2), new StabilizedDistillationLoss(),
        new KlDistillationLoss(), CompositeLoss.of(0.2, new InfoNceLoss(0.05), 1.0,
            new StabilizedDistillationLoss(0.05, 0.5)));
    for (int trial = 0; trial < 10; trial++) {
      int batchSize = 1 + random.nextInt(3);
      int n = 1 + random.nextInt(3);
      List<EmbeddedExample> examples = new ArrayList<>();
      for (int b = 0; b < batchSize; b++) {
        float[][] candidates = new float[n][];
        double[] teacher = new double[n];
        for (int k = 0; k < n; k++) {
          candidates[k] = Synthetic.unit(Synthetic.gaussian(d, random));
          teacher[k] = random.nextGaussian();
        }
        examples.add(new EmbeddedExample(Synthetic.unit(Synthetic.gaussian(d, random)), candidates, random.nextInt(n),
            teacher));
      }
      TrainingBatch batch = new TrainingBatch(Task.QA, examples);
      // a random point near the identity, with a bias
      double[] w = new double[d * d];
      double[] b = new double[d];
      for (int i = 0; i < d * d; i++) {
        w[i] = (i % (d + 1) == 0 ? 1 : 0) + 0.3 * random.nextGaussian();
      }
      for (int i = 0; i < d; i++) {
        b[i] = 0.1 * random.nextGaussian();
      }
      for (ScoreLoss loss : losses) {
        double error = maxFiniteDifferenceError(new AdapterModel(d, w, b), batch, loss);
        maxError = Math.max(maxError, error);
        assertTrue(error < 1e-6, loss + ", trial " + trial + ": max relative error " + error);
      }
    }
    System.out.printf("adapter chain gradients (W and b) vs central differences: max relative error %.3g%n",
        maxError);
  }

  /** max |analytic - numeric| / max(1, |numeric|) over every weight and bias entry; h = 1e-6. */
  private static double maxFiniteDifferenceError(AdapterModel model, TrainingBatch batch, ScoreLoss loss) {
    int d = model.dimension;
    double[] gw = new double[d * d];
    double[] gb = new double[d];
    AdapterModel.Workspace ws = new AdapterModel.Workspace();
    model.lossAndGradient(batch, loss, ws, gw, gb);
    double h = 1e-6;
    double max = 0;
    for (double[][] pair : new double[][][] {{model.weights, gw}, {model.bias, gb}}) {
      double[] params = pair[0];
      double[] analytic = pair[1];
      for (int i = 0; i < params.length; i++) {
        double keep = params[i];
        params[i] = keep + h;
        double plus = model.loss(batch, loss, ws);
        params[i] = keep - h;
        double minus = model.loss(batch, loss, ws);
        params[i] = keep;
        double numeric = (plus - minus) / (2 * h);
        max = Math.max(max, Math.abs(analytic[i] - numeric) / Math.max(1, Math.abs(numeric)));
      }
    }
    return max;
  }

  @Test
  void adamWStepByHand() {
    // t = 1, g = 0.5, lr = 0.1, betas (0.9, 0.999): m = 0.05, v = 0.00025; bias-corrected m = 0.5, v = 0.25, so the
    // step is lr * 0.5 / (sqrt(0.25) + eps) = 0.1 (minus a hair for eps). Weight decay 0.1 toward the identity first:
    // the diagonal entry (1.0) is at its anchor and does not move; the off-diagonal 0.5 loses lr * wd * 0.5 = 0.005.
    double[] params = {1.0, 0.5, 0.5, 1.0};
    double[] gradient = {0.5, 0.5, 0.5, -0.5};
    double[] m = new double[4];
    double[] v = new double[4];
    AdamW.step(params, gradient, m, v, 1, 0.1, 0.9, 0.999, 1e-8, 0.1, 2);
    double step = 0.1 * 0.5 / (0.5 + 1e-8);
    assertArrayEquals(new double[] {1.0 - step, 0.5 - 0.005 - step, 0.5 - 0.005 - step, 1.0 + step}, params, 1e-15);
    assertArrayEquals(new double[] {0.05, 0.05, 0.05, -0.05}, m, 1e-15);
    assertArrayEquals(new double[] {0.00025, 0.00025, 0.00025, 0.00025}, v, 1e-15);
    // t = 2 with the same gradient: m = 0.095, v = 0.00049975; corrected m = 0.095 / 0.19 = 0.5,
    // v = 0.00049975 / 0.001999 = 0.25: the same step again (no decay this time)
    double before = params[0];
    AdamW.step(params, gradient, m, v, 2, 0.1, 0.9, 0.999, 1e-8, 0, 2);
    assertEquals(before - step, params[0], 1e-12);
  }
}
