package dev.llmembedder.retriever;

import dev.llmembedder.encoder.Encoder;
import dev.llmembedder.index.DocumentIndex;

/** Argument checks the retrievers share, so that each bad value gets the same message everywhere. */
final class RetrieverChecks {
  private RetrieverChecks() {}

  /** {@code k}, if at least 1; checked before a query is encoded, so bad input costs no model run. */
  static int topK(int k) {
    if (k < 1) {
      throw new IllegalArgumentException("k is " + k + "; must be at least 1");
    }
    return k;
  }

  /** Fails unless {@code index} stores embeddings of {@code encoder}'s dimension. */
  static void sameDimension(Encoder encoder, DocumentIndex index) {
    if (index.dimension() != encoder.dimension()) {
      throw new IllegalArgumentException("index dimension " + index.dimension() + " differs from the encoder's "
          + encoder.dimension() + " (" + encoder.modelName() + ")");
    }
  }
}
