import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((message) => message.ruleId === "no-restricted-imports").map((message) => message.message);
}

describe("lint enforces the layers of ARCHITECTURE.md", () => {
  it.each([
    ["src/core/engine/x.ts", 'import { app } from "electron";\nexport const x = app;\n'],
    ["src/core/engine/x.ts", 'import { y } from "../../main/index.js";\nexport const x = y;\n'],
    ["src/shared/contract/x.ts", 'import { y } from "../../core/createCore.js";\nexport const x = y;\n'],
    ["src/shared/contract/x.ts", 'import fs from "node:fs";\nexport const x = fs;\n'],
    ["src/renderer/src/x.ts", 'import { y } from "../../core/createCore.js";\nexport const x = y;\n'],
    ["src/renderer/src/x.ts", 'import fs from "node:fs";\nexport const x = fs;\n'],
    ["src/preload/x.ts", 'import { y } from "../core/createCore.js";\nexport const x = y;\n'],
    ["src/cli/x.ts", 'import { app } from "electron";\nexport const x = app;\n'],
    ["src/core/api/openai/x.ts", 'import { ResponseStore } from "../../storage/ResponseStore.js";\nexport const x = ResponseStore;\n'],
    ["src/core/api/responses/x.ts", 'import { AppDatabase } from "../../storage/AppDatabase.js";\nexport const x = AppDatabase;\n'],
    ["src/core/api/responses/x.ts", 'import { Router } from "../../router/Router.js";\nexport const x = Router;\n'],
    ["src/client/x.ts", 'import { getLlama } from "node-llama-cpp";\nexport const x = getLlama;\n'],
    ["src/client/x.ts", 'import { createCore } from "../core/createCore.js";\nexport const x = createCore;\n'],
    ["src/core/engine/x.ts", 'import { loadBatchEmbeddingBinding } from "../llama/batchEmbeddingBinding.js";\nexport const x = loadBatchEmbeddingBinding;\n'],
    ["src/core/engine/BatchEmbedder.ts", 'import { app } from "electron";\nexport const x = app;\n'],
  ])("refuses the import in %s", async (filePath, code) => {
    expect(await restrictedImports(filePath, code)).toHaveLength(1);
  });

  it.each([
    ["src/core/engine/x.ts", 'import { APP_VERSION } from "../../shared/version.js";\nexport const x = APP_VERSION;\n'],
    ["src/renderer/src/x.ts", 'import { APP_VERSION } from "../../shared/version.js";\nexport const x = APP_VERSION;\n'],
    ["src/main/x.ts", 'import { createCore } from "../core/createCore.js";\nexport const x = createCore;\n'],
    ["src/cli/x.ts", 'import { createCore } from "../core/createCore.js";\nexport const x = createCore;\n'],
    ["src/core/api/responses/x.ts", 'import { ResponseStore } from "../../storage/ResponseStore.js";\nexport const x = ResponseStore;\n'],
    ["src/client/x.ts", 'import OpenAI from "openai";\nexport const x = OpenAI;\n'],
    ["src/core/engine/BatchEmbedder.ts", 'import { loadBatchEmbeddingBinding } from "../llama/batchEmbeddingBinding.js";\nexport const x = loadBatchEmbeddingBinding;\n'],
  ])("allows the import in %s", async (filePath, code) => {
    expect(await restrictedImports(filePath, code)).toEqual([]);
  });
});
