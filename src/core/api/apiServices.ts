import type { BatchRunner } from "../batches/BatchRunner.js";
import type { InferenceService } from "../inference/InferenceService.js";
import type { ModelCatalog } from "../inference/ModelCatalog.js";
import type { FileStore } from "../storage/FileStore.js";
import type { MemoryStore } from "../storage/MemoryStore.js";
import type { ResponseStore } from "../storage/ResponseStore.js";

/**
 * All a protocol adapter may use: the inference door, the model catalogue and the store of
 * the Responses API. Nothing else of the core reaches the adapters, so no route can go
 * around the router.
 */
export interface ApiServices {
  inference: InferenceService;
  catalog: ModelCatalog;
  /** Stored responses of `/v1/responses` (`previous_response_id`, `GET /v1/responses/{id}`). */
  responses: ResponseStore;
  /** Agents' memory collections of `/v1/memory/...` (embedded through `inference`). */
  memory: MemoryStore;
  /** Files of `/v1/files` (batch inputs and outputs). */
  files: FileStore;
  /** The Batch API's jobs and their runner (`/v1/batches`). */
  batches: BatchRunner;
}
