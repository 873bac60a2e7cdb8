package dev.llmembedder.testing;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelPreset;

/**
 * The embedded encoders, loaded once per test JVM and shared by the test classes that only use them (tests of
 * closing or of builder options make their own). Never closed: the JVM's exit releases them.
 */
public final class SharedEncoders {
  private SharedEncoders() {}

  private static final class Fp32 {
    static final Encoder INSTANCE = Encoder.load(ModelPreset.BGE_SMALL_EN_V15);
  }

  private static final class Int8 {
    static final Encoder INSTANCE = Encoder.load(ModelPreset.BGE_SMALL_EN_V15_INT8);
  }

  /** bge-small-en-v1.5, fp32. */
  public static Encoder fp32() {
    return Fp32.INSTANCE;
  }

  /** bge-small-en-v1.5, int8. */
  public static Encoder int8() {
    return Int8.INSTANCE;
  }
}
