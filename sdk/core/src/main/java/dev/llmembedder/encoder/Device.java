package dev.llmembedder.encoder;

/**
 * Where ONNX Runtime runs the model.
 *
 * <p><b>Thread-safety.</b> An enum: immutable and thread-safe.
 */
public enum Device {
  /** The CPU execution provider (always available). */
  CPU,
  /**
   * NVIDIA GPU through ONNX Runtime's CUDA execution provider, on CUDA device 0 or the one given to
   * {@link Encoder.Builder#cudaDevice(int)}. Needs {@code com.microsoft.onnxruntime:onnxruntime_gpu} on the classpath
   * instead of {@code onnxruntime} (Maven profile {@code gpu}), a CUDA 12 runtime and cuDNN 9; building an encoder
   * throws {@link IllegalStateException} with a clear message otherwise.
   */
  CUDA,
  /** CUDA when its provider is on the classpath and the GPU answers, otherwise CPU (the fallback is logged). */
  AUTO
}
