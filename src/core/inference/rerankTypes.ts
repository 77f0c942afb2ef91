/** What ranking documents against a query gives: one relevance score per document, in their order. */
export interface RerankResult {
  /** Relevance of each document to the query, 0 to 1 (higher is more relevant), in the documents' order. */
  scores: number[];
  /** Tokens evaluated: the query and document pairs as the model's ranking template joins them. */
  promptTokens: number;
  /** llama.cpp evaluations the documents took (fewer than the documents when they were batched); absent from remote providers. */
  evaluations?: number;
}
