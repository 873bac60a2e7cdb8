/**
 * Full fine-tuning of a BERT encoder's own weights in the JVM, with DJL's PyTorch engine (offline: the native library
 * comes from a Maven jar), and export of the trained weights back into the model's ONNX file.
 *
 * <ul>
 *   <li>{@link dev.llmembedder.trainer.finetune.EncoderFineTuner}: reads the weights from the fp32 ONNX file's
 *       initializers (or {@code model.safetensors}), runs HuggingFace's {@code BertModel} forward pass in DJL, trains
 *       it with the {@link dev.llmembedder.trainer.loss} losses on homogeneous batches
 *       ({@link dev.llmembedder.trainer.data.Batches}) and exports a model directory that
 *       {@code Encoder.builder().modelDirectory(dir, family)} loads;
 *   <li>{@link dev.llmembedder.trainer.finetune.FineTuneResult}: the epochs' losses, the best epoch, steps and time.
 * </ul>
 */
package dev.llmembedder.trainer.finetune;
