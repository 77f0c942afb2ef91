import { copyFileSync } from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { createApiServer, type ApiServerOptions } from "../../src/core/api/createApiServer.js";
import type { CoreOptions } from "../../src/core/createCore.js";
import type { ModelLoadOptions } from "../../src/core/engine/Engine.js";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";
import { createTestCore, type TestCore } from "./testCore.js";

export interface TestServer extends TestCore {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
}

/** Options of {@link startTestServer}. */
export interface TestServerOptions extends Omit<ApiServerOptions, "core"> {
  /** Load defaults of the core. Default: context 2048, 4 sequences. */
  loadDefaults?: ModelLoadOptions;
  /** Copy the fixture model into the models dir as `fixture.gguf`. Default: true. */
  withFixture?: boolean;
  /** Keep prompt text in the audit log. Default: false. */
  auditPrompts?: boolean;
  /** More options of the core (routing, upstreams, ...). Default: none. */
  coreOptions?: CoreOptions;
}

/** A real HTTP server on 127.0.0.1 (random port) over a test core with the fixture model. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { loadDefaults, withFixture = true, auditPrompts, coreOptions, ...apiOptions } = options;
  const testCore = createTestCore({ ...coreOptions, auditPrompts, loadDefaults: { contextSize: 2048, parallel: 4, ...loadDefaults } });
  if (withFixture) copyFileSync(await getFixtureModelPath(), path.join(testCore.modelsDir, "fixture.gguf"));
  const app = await createApiServer({ core: testCore.core, ...apiOptions });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    ...testCore,
    app,
    url,
    async dispose() {
      await app.close();
      await testCore.dispose();
    },
  };
}
