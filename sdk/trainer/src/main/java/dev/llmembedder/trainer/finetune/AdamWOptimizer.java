package dev.llmembedder.trainer.finetune;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", arXiv:1711.05101) on DJL arrays, as PyTorch's
 * {@code torch.optim.AdamW} computes it: {@code w *= 1 - lr * decay}; {@code m = b1 m + (1 - b1) g};
 * {@code v = b2 v + (1 - b2) g^2}; {@code w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)}, with betas
 * (0.9, 0.999) and eps 1e-8 (HuggingFace's defaults, which LLM-Embedder trains with). Its own rather than DJL's
 * because a checkpoint must save and restore the moments, which DJL's optimizers keep private.
 *
 * <p>Before the update, the gradients may be clipped to a global L2 norm, as PyTorch's
 * {@code torch.nn.utils.clip_grad_norm_} does it (HuggingFace's Trainer calls it with {@code max_grad_norm}, default
 * 1.0): every gradient is multiplied by {@code min(1, maxNorm / (norm + 1e-6))}, {@code norm} taken over all of them.
 *
 * <p>The moments live beside the weights (same device, one copy of each weight twice over). Not thread-safe.
 */
final class AdamWOptimizer {
  static final double BETA1 = 0.9;
  static final double BETA2 = 0.999;
  static final double EPSILON = 1e-8;
  /** Added to the norm before dividing, as in {@code clip_grad_norm_}. */
  static final double CLIP_EPSILON = 1e-6;

  /** First and second moments, by parameter name, in the model's parameter order. */
  private final Map<String, NDArray> first = new LinkedHashMap<>();
  private final Map<String, NDArray> second = new LinkedHashMap<>();

  AdamWOptimizer(Map<String, NDArray> parameters) {
    parameters.forEach((name, weight) -> {
      first.put(name, weight.zerosLike());
      second.put(name, weight.zerosLike());
    });
  }

  /**
   * One step on every parameter with its accumulated gradient, which is then zeroed.
   *
   * @param t this step's number, from 1 (the bias corrections)
   * @param learningRate this step's rate
   * @param weightDecay decoupled decay of the parameters that {@link #decays} names; 0 for none
   * @param maxGradNorm the global L2 norm the gradients are clipped to first; 0 for no clipping
   */
  void step(Map<String, NDArray> parameters, long t, double learningRate, double weightDecay, double maxGradNorm) {
    double clip = maxGradNorm > 0 ? Math.min(1, maxGradNorm / (gradientNorm(parameters) + CLIP_EPSILON)) : 1;
    double correction1 = 1 - Math.pow(BETA1, t);
    double sqrtCorrection2 = Math.sqrt(1 - Math.pow(BETA2, t));
    parameters.forEach((name, weight) -> {
      NDArray m = first.get(name);
      NDArray v = second.get(name);
      try (NDArray gradient = weight.getGradient()) { // clip x gradient, the factor folded into the moments' updates
        if (weightDecay > 0 && decays(name)) {
          weight.muli(1 - learningRate * weightDecay);
        }
        try (NDArray scaled = gradient.mul((1 - BETA1) * clip)) {
          m.muli(BETA1).addi(scaled);
        }
        try (NDArray squared = gradient.square()) {
          v.muli(BETA2).addi(squared.muli((1 - BETA2) * clip * clip));
        }
        try (NDArray denominator = v.sqrt()) {
          denominator.divi(sqrtCorrection2).addi(EPSILON);
          try (NDArray update = m.div(denominator)) {
            weight.subi(update.muli(learningRate / correction1));
          }
        }
        gradient.subi(gradient); // in place: the next batch accumulates from zero
      }
    });
  }

  /** The L2 norm of all the parameters' gradients together, as one vector. */
  private static double gradientNorm(Map<String, NDArray> parameters) {
    double sumOfSquares = 0;
    for (NDArray weight : parameters.values()) {
      try (NDArray gradient = weight.getGradient(); NDArray squared = gradient.square(); NDArray sum = squared.sum()) {
        sumOfSquares += sum.getFloat();
      }
    }
    return Math.sqrt(sumOfSquares);
  }

  /** Weight decay applies to weight matrices and embeddings, not to biases and LayerNorm parameters. */
  static boolean decays(String name) {
    return name.endsWith(".weight") && !name.contains("LayerNorm");
  }

  /** Zeroes the moments: the next step is step 1 of a new run. */
  void reset() {
    for (Map<String, NDArray> moments : List.of(first, second)) {
      moments.values().forEach(m -> m.subi(m));
    }
  }

  Map<String, NDArray> first() {
    return first;
  }

  Map<String, NDArray> second() {
    return second;
  }

  void close() {
    first.values().forEach(NDArray::close);
    second.values().forEach(NDArray::close);
  }
}
