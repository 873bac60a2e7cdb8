/**
 * Text to embedding: the HuggingFace tokenizer, the ONNX Runtime session, {@link dev.llmembedder.encoder.Pooling},
 * LLM-Embedder's task {@link dev.llmembedder.encoder.InstructionSet instructions}, and model presets. The entry point
 * is {@link dev.llmembedder.encoder.Encoder}.
 */
package dev.llmembedder.encoder;
