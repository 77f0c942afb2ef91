import type { InferenceService } from "../inference/InferenceService.js";
import type { ModelCatalog } from "../inference/ModelCatalog.js";
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
}
