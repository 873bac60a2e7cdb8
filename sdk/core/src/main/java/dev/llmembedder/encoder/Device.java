package dev.llmembedder.encoder;

/** Where ONNX Runtime runs the model. */
public enum Device {
  /** The CPU execution provider (always available). */
  CPU,
  /**
   * NVIDIA GPU through ONNX Runtime's CUDA execution provider. Needs {@code com.microsoft.onnxruntime:onnxruntime_gpu}
   * on the classpath instead of {@code onnxruntime}, and a CUDA 12 driver; building an encoder fails with a
   * clear message otherwise.
   */
  CUDA,
  /** CUDA when its provider is on the classpath and a GPU answers, otherwise CPU. */
  AUTO
}
