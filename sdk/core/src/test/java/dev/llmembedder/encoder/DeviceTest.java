package dev.llmembedder.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Device choice on a machine whose ONNX Runtime has no CUDA provider (the CPU build, the default dependency): CUDA is
 * a clear error, AUTO falls back to the CPU. Skipped where the GPU build is on the classpath.
 */
class DeviceTest {
  private static void assumeCpuBuild() {
    assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
        "the ONNX Runtime on the classpath has a CUDA provider: these tests are for the CPU build");
  }

  @Test
  void cudaWithoutProviderIsAClearError() {
    assumeCpuBuild();
    var e = assertThrows(IllegalStateException.class,
        () -> Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).cudaDevice(1).build());
    assertTrue(e.getMessage().contains("CUDA device 1"), e.getMessage());
    assertTrue(e.getMessage().contains("onnxruntime_gpu"), e.getMessage());
    var viaDevice = assertThrows(IllegalStateException.class,
        () -> Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).device(Device.CUDA).build());
    assertTrue(viaDevice.getMessage().contains("CUDA device 0"), viaDevice.getMessage());
  }

  @Test
  void autoFallsBackToTheCpuAndEncodes() {
    assumeCpuBuild();
    try (Encoder e = Encoder.builder().preset(ModelPreset.BGE_SMALL_EN_V15_INT8).cudaDevice(1).device(Device.AUTO)
        .build()) {
      assertEquals(Device.CPU, e.device());
      float[] v = e.encodeKeys(List.of("tides are caused by the moon"), Task.QA)[0];
      assertEquals(384, v.length);
    }
  }

  @Test
  void negativeCudaDeviceIsRefused() {
    var e = assertThrows(IllegalArgumentException.class, () -> Encoder.builder().cudaDevice(-1));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }
}
