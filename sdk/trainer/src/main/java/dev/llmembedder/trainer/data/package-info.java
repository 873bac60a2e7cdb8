/**
 * Training data for LLM-Embedder's reward-based distillation: {@link dev.llmembedder.trainer.data.TrainingExample}
 * (one row of its JSON-lines format), {@link dev.llmembedder.trainer.data.TrainingData} to read and write such files
 * (texts inline or as line numbers of a corpus), {@link dev.llmembedder.trainer.data.Batches} for homogeneous
 * mini-batches (one task each, shuffled reproducibly), and {@link dev.llmembedder.trainer.data.Miner} to build
 * examples with hard negatives from a BEIR dataset's train split.
 */
package dev.llmembedder.trainer.data;
