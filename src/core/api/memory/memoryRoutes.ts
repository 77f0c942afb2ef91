import type { FastifyInstance, FastifyReply } from "fastify";
import type { MemoryCollection } from "../../storage/MemoryStore.js";
import { openAiError } from "../apiErrors.js";
import type { ApiServices } from "../apiServices.js";
import { routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { parseBody } from "../validation.js";
import { addItemsSchema, collectionNameSchema, createCollectionSchema, deleteItemsSchema, searchSchema } from "./memorySchemas.js";

/** Neighbours a search returns when it does not say. */
export const DEFAULT_MEMORY_SEARCH_K = 10;

type NameParams = { Params: { name: string } };

const notFound = (reply: FastifyReply, name: string) => reply.code(404).send(openAiError(404, `No memory collection named '${name}'.`, "not_found", "name"));

function collectionObject(collection: MemoryCollection) {
  return {
    object: "memory.collection",
    name: collection.name,
    model: collection.model,
    dimensions: collection.dimensions ?? null,
    items: collection.items,
    created_at: Math.floor(collection.createdAt / 1000),
  };
}

/**
 * A small memory store for agents: named collections of texts, embedded with the collection's
 * model through the inference door and searched by cosine distance (sqlite-vec).
 * `POST/GET /v1/memory/collections`, `DELETE /v1/memory/collections/{name}`,
 * `POST/DELETE /v1/memory/collections/{name}/items`, `POST /v1/memory/collections/{name}/search`.
 */
export function registerMemoryRoutes(app: FastifyInstance, { memory }: ApiServices): void {
  app.post("/v1/memory/collections", async (request, reply) => {
    const body = parseBody(createCollectionSchema, request.body);
    return reply.code(201).send(collectionObject(memory.createCollection(body.name, body.model, body.dimensions)));
  });

  app.get("/v1/memory/collections", async () => ({ object: "list", data: memory.listCollections().map(collectionObject) }));

  app.get<NameParams>("/v1/memory/collections/:name", async (request, reply) => {
    const collection = collectionNameSchema.safeParse(request.params.name).success ? memory.collection(request.params.name) : undefined;
    return collection ? collectionObject(collection) : notFound(reply, request.params.name);
  });

  app.delete<NameParams>("/v1/memory/collections/:name", async (request, reply) => {
    if (!memory.deleteCollection(request.params.name)) return notFound(reply, request.params.name);
    return { object: "memory.collection.deleted", name: request.params.name, deleted: true };
  });

  app.post<NameParams>("/v1/memory/collections/:name/items", async (request, reply) => {
    const { name } = request.params;
    const body = parseBody(addItemsSchema, request.body);
    if (!memory.collection(name)) return notFound(reply, name);
    const disconnect = abortOnDisconnect(request, reply);
    const ids = await memory.add(name, body.items, { signal: disconnect.signal, routing: routingHintsOf(request) });
    return { object: "list", data: ids.map((id) => ({ object: "memory.item", id })) };
  });

  app.delete<NameParams>("/v1/memory/collections/:name/items", async (request, reply) => {
    const { name } = request.params;
    const body = parseBody(deleteItemsSchema, request.body);
    if (!memory.collection(name)) return notFound(reply, name);
    return { object: "memory.items.deleted", deleted: memory.delete(name, body.ids) };
  });

  app.post<NameParams>("/v1/memory/collections/:name/search", async (request, reply) => {
    const { name } = request.params;
    const body = parseBody(searchSchema, request.body);
    if (!memory.collection(name)) return notFound(reply, name);
    const disconnect = abortOnDisconnect(request, reply);
    const matches = await memory.search(name, body.query, body.k ?? DEFAULT_MEMORY_SEARCH_K, { filter: body.filter }, { signal: disconnect.signal, routing: routingHintsOf(request) });
    return { object: "list", data: matches.map((match) => ({ object: "memory.match", ...match })) };
  });
}
