import type { FastifyInstance } from "fastify";
import type { Core } from "../../createCore.js";
import { ModelNotFoundError } from "../../errors.js";

/** OpenAI's model object. */
export interface OpenAiModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/**
 * Every usable model in the models dir (a split model once; no broken file, no LoRA adapter),
 * plus loaded models that came from elsewhere (a path given at start).
 */
export async function listOpenAiModels(core: Core): Promise<OpenAiModel[]> {
  const library = await core.library.list();
  const models: OpenAiModel[] = library
    .filter((model) => model.status === "ok" && model.kind === "model")
    .map((model) => ({
      id: model.id,
      object: "model",
      created: Math.floor(model.modifiedAt / 1000),
      owned_by: "local",
    }));
  const listed = new Set(models.map((model) => model.id));
  for (const loaded of core.engine.listLoaded()) {
    if (!listed.has(loaded.id)) {
      models.push({ id: loaded.id, object: "model", created: Math.floor(loaded.loadedAt / 1000), owned_by: "local" });
    }
  }
  return models;
}

/** `GET /v1/models` and `GET /v1/models/{id}` (ids may contain slashes). */
export function registerModelsRoutes(app: FastifyInstance, core: Core): void {
  app.get("/v1/models", async () => ({ object: "list", data: await listOpenAiModels(core) }));
  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const id = decodeURIComponent(request.params["*"]);
    const model = (await listOpenAiModels(core)).find((candidate) => candidate.id === id);
    if (!model) throw new ModelNotFoundError(id);
    return model;
  });
}
