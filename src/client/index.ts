/**
 * `marduk-local/client`: a typed SDK of the Marduk Local server over the official `openai`
 * package. It imports nothing of the app (no Electron, no node-llama-cpp, no src/core): only
 * `openai` and src/shared (the error codes' type and the routing header names), so it runs in
 * Node and in browsers.
 */
export { LlamaCppClient, type BatchRequestLine, type BatchResultLine, type LlamaCppClientOptions, type RerankResult } from "./LlamaCppClient.js";
export { runWithTools, type AgentStep, type AgentTool, type RunWithToolsOptions, type RunWithToolsResult, type ToolCallResult } from "./runWithTools.js";
export {
  ContextLengthExceededError,
  InvalidRequestError,
  MardukClientError,
  ModelNotFoundError,
  QueueFullError,
  RequestAbortedError,
  RequestTimeoutError,
  ServerUnavailableError,
  UnauthorizedError,
  toClientError,
} from "./errors.js";
export type { RetryOptions } from "./retryPolicy.js";
export type * from "./types.js";
