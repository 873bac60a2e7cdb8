package dev.llmembedder.trainer.finetune;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The shape of a BERT encoder (HuggingFace {@code BertConfig}'s fields of the same names). The sizes come from the
 * weights' shapes; only the number of attention heads and LayerNorm's epsilon cannot, and come from
 * {@code config.json} ({@code num_attention_heads}, {@code layer_norm_eps}) or the preset.
 *
 * @param hiddenSize {@code d}
 * @param layers transformer layers
 * @param attentionHeads heads per layer; {@code d} must be a multiple
 * @param intermediateSize the feed-forward width
 * @param vocabSize rows of the word embeddings
 * @param maxPositions rows of the position embeddings: the longest sequence, in tokens
 * @param layerNormEps LayerNorm's epsilon (BERT: 1e-12)
 */
record BertConfig(int hiddenSize, int layers, int attentionHeads, int intermediateSize, int vocabSize,
    int maxPositions, double layerNormEps) {
  /** BERT's LayerNorm epsilon (HuggingFace {@code BertConfig.layer_norm_eps}). */
  static final double BERT_LAYER_NORM_EPS = 1e-12;

  BertConfig {
    if (attentionHeads < 1 || hiddenSize % attentionHeads != 0) {
      throw new IllegalArgumentException("attention heads is " + attentionHeads + "; must divide the hidden size "
          + hiddenSize);
    }
  }

  int headSize() {
    return hiddenSize / attentionHeads;
  }

  /** Heads and epsilon from a HuggingFace {@code config.json} (missing: {@code heads}, 1e-12). */
  static int heads(JsonNode config, int fallback) {
    return config.path("num_attention_heads").asInt(fallback);
  }

  static double eps(JsonNode config) {
    return config.path("layer_norm_eps").asDouble(BERT_LAYER_NORM_EPS);
  }
}
