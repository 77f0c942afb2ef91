import { describe, expect, it } from "vitest";
import { ModelNotFoundError, QueueFullError } from "../../src/core/errors.js";
import type { Provider } from "../../src/core/router/Provider.js";
import { ProviderRegistry } from "../../src/core/router/ProviderRegistry.js";
import { Router } from "../../src/core/router/Router.js";

/** A provider that only lists one model "m" and, when `counts` is given, counts tokens with it. */
function provider(id: string, kind: "local" | "remote", counts?: () => Promise<number>): Provider {
  const never = () => Promise.reject(new Error("not used"));
  return {
    id,
    kind,
    price: { inputPerMillion: 0, outputPerMillion: 0 },
    maxConcurrency: 8,
    listModels: async () => [{ id: "m", capabilities: { chat: true, embeddings: false, tools: true, jsonSchema: true } }],
    chat: never,
    complete: never,
    embed: never,
    ...(counts ? { countChatTokens: async (modelId: string) => ({ modelId, tokens: await counts() }) } : {}),
    checkHealth: async () => undefined,
    dispose: () => undefined,
  };
}

function routerWith(local: Provider, remote?: Provider): Router {
  const registry = new ProviderRegistry({ healthIntervalMs: 0 });
  registry.set(local, "local");
  if (remote) registry.set(remote, "config");
  return new Router({ registry });
}

const messages = [{ role: "user" as const, content: "Hello there, how are you?" }];

describe("Router.countChatTokens", () => {
  it("counts exactly at this machine, and estimates at a remote that cannot count", async () => {
    expect(await routerWith(provider("local", "local", async () => 17)).countChatTokens("m", messages, {})).toEqual({ provider: "local", modelId: "m", tokens: 17, exact: true });
    const remoteOnly = routerWith(provider("local", "local", () => Promise.reject(new ModelNotFoundError("m"))), provider("remote", "remote"));
    const estimated = await remoteOnly.countChatTokens("m", messages, { tools: [{ name: "f", parameters: { type: "object" } }] });
    expect(estimated).toMatchObject({ provider: "remote", modelId: "m", exact: false });
    // About 4 characters a token: the message and the tool definitions.
    expect(estimated.tokens).toBeGreaterThan(Math.ceil(messages[0]!.content.length / 4));
  });

  it("does not go to a remote for a local-only request, and passes on request errors as they are", async () => {
    const missingLocally = routerWith(provider("local", "local", () => Promise.reject(new ModelNotFoundError("m"))), provider("remote", "remote"));
    await expect(missingLocally.countChatTokens("m", messages, { routing: { localOnly: true } })).rejects.toMatchObject({ code: "model_not_found" });
    const busy = routerWith(provider("local", "local", () => Promise.reject(new QueueFullError(1))));
    await expect(busy.countChatTokens("m", messages, {})).rejects.toBeInstanceOf(QueueFullError);
  });
});
