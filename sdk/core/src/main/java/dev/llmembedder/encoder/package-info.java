/**
 * Text to embedding: the HuggingFace tokenizer, the ONNX Runtime session, {@link dev.llmembedder.encoder.Pooling},
 * LLM-Embedder's task {@link dev.llmembedder.encoder.InstructionSet instructions}, the
 * {@link dev.llmembedder.encoder.TextTemplate} of decoder-only embedders, model families and presets. The entry point
 * is {@link dev.llmembedder.encoder.Encoder}.
 */
package dev.llmembedder.encoder;
