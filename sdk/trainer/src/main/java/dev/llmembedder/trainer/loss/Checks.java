package dev.llmembedder.trainer.loss;

/** Argument checks shared by the losses. */
final class Checks {
  private Checks() {}

  static void temperature(String name, double value) {
    if (!(value > 0) || !Double.isFinite(value)) {
      throw new IllegalArgumentException(name + " is " + value + "; must be positive and finite");
    }
  }

  /** softmax(values / temperature) into {@code out}; returns out. */
  static double[] softmax(double[] values, double temperature, double[] out) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : values) {
      max = Math.max(max, v / temperature);
    }
    double sum = 0;
    for (int i = 0; i < values.length; i++) {
      out[i] = StrictMath.exp(values[i] / temperature - max);
      sum += out[i];
    }
    for (int i = 0; i < values.length; i++) {
      out[i] /= sum;
    }
    return out;
  }

  /** log sum exp(values[i] / temperature) over i. */
  static double logSumExp(double[] values, int from, int to, double temperature) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = from; i < to; i++) {
      max = Math.max(max, values[i] / temperature);
    }
    double sum = 0;
    for (int i = from; i < to; i++) {
      sum += StrictMath.exp(values[i] / temperature - max);
    }
    return max + StrictMath.log(sum);
  }

  /** log(exp(a) + exp(b)), exact for infinities. */
  static double logAddExp(double a, double b) {
    if (a == Double.NEGATIVE_INFINITY) {
      return b;
    }
    if (b == Double.NEGATIVE_INFINITY) {
      return a;
    }
    double max = Math.max(a, b);
    return max + StrictMath.log1p(StrictMath.exp(-Math.abs(a - b)));
  }
}
