import type { FastifyInstance } from "fastify";
import { ModelNotFoundError } from "../../errors.js";
import type { ModelCatalog } from "../../inference/ModelCatalog.js";
import type { ApiServices } from "../apiServices.js";

/** OpenAI's model object. */
export interface OpenAiModel {
  id: string;
  object: "model";
  created: number;
  /** "local" for this machine's models, else the provider (or "router" for an alias). */
  owned_by: string;
}

/** Every model of the catalogue: the models folder's (a split model once; no broken file, no LoRA adapter), the remotes', the aliases. */
export async function listOpenAiModels(catalog: ModelCatalog): Promise<OpenAiModel[]> {
  const now = Date.now();
  return (await catalog.list()).map((model) => ({
    id: model.id,
    object: "model",
    created: Math.floor((model.createdAt ?? now) / 1000),
    owned_by: model.kind === "alias" ? "router" : model.providers[0]!,
  }));
}

/** `GET /v1/models` and `GET /v1/models/{id}` (ids may contain slashes). */
export function registerModelsRoutes(app: FastifyInstance, { catalog }: ApiServices): void {
  app.get("/v1/models", async () => ({ object: "list", data: await listOpenAiModels(catalog) }));
  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const id = decodeURIComponent(request.params["*"]);
    const model = (await listOpenAiModels(catalog)).find((candidate) => candidate.id === id);
    if (!model) throw new ModelNotFoundError(id);
    return model;
  });
}
