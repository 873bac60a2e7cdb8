/**
 * Retrieval evaluation: {@link dev.llmembedder.eval.BeirDataset} loads a dataset in the BEIR layout (corpus,
 * queries, qrels), and {@link dev.llmembedder.eval.RetrievalMetrics} scores a run against its qrels with trec_eval's
 * nDCG@k, Recall@k, MRR@k and Precision@k into an {@link dev.llmembedder.eval.EvalReport};
 * {@link dev.llmembedder.eval.KnowledgeEvaluation} runs a dataset through a knowledge retriever.
 */
package dev.llmembedder.eval;
