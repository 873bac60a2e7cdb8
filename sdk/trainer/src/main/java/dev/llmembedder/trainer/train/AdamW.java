package dev.llmembedder.trainer.train;

/**
 * One Adam step with decoupled weight decay (AdamW: Kingma and Ba, "Adam: A Method for Stochastic Optimization",
 * arXiv:1412.6980; Loshchilov and Hutter, "Decoupled Weight Decay Regularization", arXiv:1711.05101), in PyTorch's
 * order: decay, moments, bias-corrected update. The decay pulls parameters toward an anchor instead of zero: toward
 * the identity for the adapter's weights, so that decay keeps the adapter close to the unadapted encoder.
 */
final class AdamW {
  private AdamW() {}

  /**
   * Updates {@code params} in place.
   *
   * @param step Adam's {@code t}, 1 for the first step
   * @param identityDimension {@code d} to decay a {@code d x d} matrix toward the identity; 0 to decay toward zero
   */
  static void step(double[] params, double[] gradient, double[] m, double[] v, long step, double learningRate,
      double beta1, double beta2, double epsilon, double weightDecay, int identityDimension) {
    double correction1 = 1 - StrictMath.pow(beta1, step);
    double correction2Sqrt = Math.sqrt(1 - StrictMath.pow(beta2, step));
    double stepSize = learningRate / correction1;
    double decay = learningRate * weightDecay;
    int diagonalStride = identityDimension + 1;
    for (int i = 0; i < params.length; i++) {
      if (decay != 0) {
        double anchor = identityDimension > 0 && i % diagonalStride == 0 ? 1 : 0;
        params[i] -= decay * (params[i] - anchor);
      }
      double g = gradient[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / correction2Sqrt + epsilon);
    }
  }
}
