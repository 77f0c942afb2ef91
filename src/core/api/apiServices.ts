import type { InferenceService } from "../inference/InferenceService.js";
import type { ModelCatalog } from "../inference/ModelCatalog.js";

/**
 * All a protocol adapter may use: the inference door and the model catalogue. Nothing else
 * of the core reaches the adapters, so no route can go around the router.
 */
export interface ApiServices {
  inference: InferenceService;
  catalog: ModelCatalog;
}
