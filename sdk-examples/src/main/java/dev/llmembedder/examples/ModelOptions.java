package dev.llmembedder.examples;

import dev.llmembedder.LlmEmbedder;
import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The model options every command shares. */
final class ModelOptions {
  @Option(names = "--model", defaultValue = "bge-small-en-v1.5",
      description = "Embedded model preset: bge-small-en-v1.5 (fp32) or bge-small-en-v1.5-int8. Default: ${DEFAULT-VALUE}.")
  String preset;

  @Option(names = "--model-dir", description = "A model directory exported by HuggingFace Optimum (model.onnx + "
      + "tokenizer.json) instead of a preset.")
  Path modelDir;

  @Option(names = "--family", defaultValue = "BGE_V15",
      description = "Family of --model-dir (pooling, instructions, template, padding side): ${COMPLETION-CANDIDATES}. "
          + "Default: ${DEFAULT-VALUE}.")
  ModelFamily family;

  /** An embedder builder with this model chosen. */
  LlmEmbedder.Builder embedderBuilder() {
    LlmEmbedder.Builder b = LlmEmbedder.builder();
    return modelDir != null ? b.modelDirectory(modelDir, family) : b.model(ModelPreset.fromName(preset));
  }

  /** An encoder builder with this model chosen. */
  Encoder.Builder encoderBuilder() {
    Encoder.Builder b = Encoder.builder();
    return modelDir != null ? b.modelDirectory(modelDir, family) : b.preset(ModelPreset.fromName(preset));
  }

  /** A name for default file names: the preset's, or the model directory's. */
  String modelName() {
    return modelDir != null ? modelDir.getFileName().toString() : ModelPreset.fromName(preset).modelName();
  }
}
