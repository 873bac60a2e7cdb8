package dev.llmembedder.trainer.finetune;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import dev.llmembedder.encoder.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DJL's PyTorch engine, offline. The native library comes from a jar on the classpath
 * ({@code ai.djl.pytorch:pytorch-native-cpu}, classifier {@code linux-x86_64}, or a CUDA flavour), which DJL extracts
 * to its cache ({@code ~/.djl.ai/pytorch}, or {@code DJL_CACHE_DIR}); with {@code ai.djl.offline=true} DJL never
 * downloads one, and fails with a clear error if none is on the classpath. (DJL's documentation: "Engine
 * Configuration", {@code ai.djl.offline}, {@code PYTORCH_VERSION}, {@code PYTORCH_FLAVOR}.)
 */
final class PyTorch {
  private static final Logger LOG = LoggerFactory.getLogger(PyTorch.class);

  private PyTorch() {}

  /** Sets {@code ai.djl.offline=true} unless the JVM already sets it, before the engine first loads. */
  static synchronized void offline() {
    if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
  }

  /**
   * The DJL device for the SDK's {@link Device}.
   *
   * @throws IllegalStateException if the engine cannot load, or CUDA is asked for and PyTorch sees no GPU
   */
  static ai.djl.Device device(Device device, int cudaDeviceId) {
    Engine engine;
    try {
      engine = Engine.getEngine("PyTorch");
    } catch (EngineException | IllegalArgumentException e) {
      throw new IllegalStateException("cannot load DJL's PyTorch engine: " + e.getMessage() + " (it needs"
          + " ai.djl.pytorch:pytorch-engine, pytorch-jni and a pytorch-native jar for this platform on the"
          + " classpath; nothing is downloaded)", e);
    }
    int gpus = engine.getGpuCount();
    return switch (device) {
      case CPU -> ai.djl.Device.cpu();
      case AUTO -> {
        if (gpus == 0) {
          LOG.info("Device AUTO: PyTorch {} sees no GPU; training on the CPU", engine.getVersion());
        }
        yield gpus > cudaDeviceId ? ai.djl.Device.gpu(cudaDeviceId) : ai.djl.Device.cpu();
      }
      case CUDA -> {
        if (gpus <= cudaDeviceId) {
          throw new IllegalStateException("CUDA device " + cudaDeviceId + " requested, but PyTorch " + engine.getVersion()
              + " sees " + gpus + " GPU(s); put the PyTorch CUDA native jar on the classpath (Maven profile"
              + " pytorch-cuda) on a machine with an NVIDIA GPU, or use Device.CPU or Device.AUTO");
        }
        yield ai.djl.Device.gpu(cudaDeviceId);
      }
    };
  }
}
