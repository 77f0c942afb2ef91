// @ts-check
import eslint from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/** Import rules that keep the layers apart (see ../shared/ARCHITECTURE.md). */
const layer = (files, patterns, message) => ({
  files,
  rules: {
    "no-restricted-imports": ["error", { patterns: [{ group: patterns, message }] }],
  },
});

/** What nothing in src/core may import. */
const CORE_FORBIDDEN_IMPORTS = ["electron", "electron/*", "**/main/**", "**/preload/**", "**/renderer/**", "**/cli/**"];
const CORE_MESSAGE = "src/core is plain Node: it never imports electron or the shells above it.";
const BINDING_MESSAGE = "The batched embedding binding is used through core/engine/BatchEmbedder.ts only.";

/** What a protocol adapter may not import: it reaches the core through ApiServices only. */
const ADAPTER_FORBIDDEN_IMPORTS = [
  "electron",
  "electron/*",
  "**/main/**",
  "**/preload/**",
  "**/renderer/**",
  "**/cli/**",
  "**/engine/**",
  "**/models/**",
  "**/router/**",
  "**/storage/**",
  "**/createCore*",
  "node-llama-cpp",
];

export default tseslint.config(
  { ignores: ["out/**", "dist/**", "release/**", "node_modules/**", ".cache/**", "test-results/**", "test/scratch/**", ".scratch/**"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  { files: ["src/renderer/**"], languageOptions: { globals: { ...globals.browser } } },
  layer(
    ["src/shared/**"],
    ["**/core/**", "**/main/**", "**/preload/**", "**/renderer/**", "**/cli/**", "node:*", "electron", "node-llama-cpp", "react", "fastify"],
    "src/shared holds contracts only and imports nothing outside src/shared.",
  ),
  {
    files: ["src/core/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: CORE_FORBIDDEN_IMPORTS, message: CORE_MESSAGE }, { group: ["**/llama/batchEmbeddingBinding*"], message: BINDING_MESSAGE }] },
      ],
    },
  },
  // The native binding is reached through BatchEmbedder only (it owns the native handles' lifetimes).
  layer(["src/core/engine/BatchEmbedder.ts"], CORE_FORBIDDEN_IMPORTS, CORE_MESSAGE),
  // Protocol adapters see the inference door and the catalogue only (src/core/api/apiServices.ts):
  // nothing can go around the router.
  layer(
    ["src/core/api/openai/**", "src/core/api/ollama/**", "src/core/api/routes/**", "src/core/api/streamGeneration.ts", "src/core/api/routingHeaders.ts"],
    ADAPTER_FORBIDDEN_IMPORTS,
    "Protocol adapters reach the core through ApiServices (the inference door and the model catalogue) only.",
  ),
  // The Responses API adapter also keeps its stored responses (ApiServices.responses), and no other storage.
  layer(
    ["src/core/api/responses/**"],
    [...ADAPTER_FORBIDDEN_IMPORTS, "!**/storage/ResponseStore.js"],
    "The Responses API adapter reaches the core through ApiServices (the inference door, the catalogue, the ResponseStore) only.",
  ),
  // The memory API adapter also keeps the memory collections (ApiServices.memory), and no other storage.
  layer(
    ["src/core/api/memory/**"],
    [...ADAPTER_FORBIDDEN_IMPORTS, "!**/storage/MemoryStore.js"],
    "The memory API adapter reaches the core through ApiServices (the inference door, the catalogue, the MemoryStore) only.",
  ),
  // The client SDK (marduk-local/client) runs in Node and browsers: the openai package and src/shared types only.
  layer(
    ["src/client/**"],
    ["**/core/**", "**/main/**", "**/preload/**", "**/renderer/**", "**/cli/**", "electron", "electron/*", "node-llama-cpp", "node:*", "fastify"],
    "src/client (marduk-local/client) imports only src/shared and the openai package: it must run in browsers too.",
  ),
  // The Batch API adapter also keeps its files (ApiServices.files), and no other storage.
  layer(
    ["src/core/api/batches/**"],
    [...ADAPTER_FORBIDDEN_IMPORTS, "!**/storage/FileStore.js"],
    "The Batch API adapter reaches the core through ApiServices (the inference door, the FileStore, the batch runner) only.",
  ),
  layer(
    ["src/cli/**"],
    ["electron", "electron/*", "**/main/**", "**/preload/**", "**/renderer/**"],
    "src/cli runs in plain Node and uses src/core and src/shared only.",
  ),
  layer(
    ["src/main/**"],
    ["**/renderer/**", "**/preload/**", "**/cli/**"],
    "src/main may use src/core and src/shared only.",
  ),
  layer(
    ["src/preload/**"],
    ["**/core/**", "**/main/**", "**/renderer/**", "**/cli/**", "node-llama-cpp"],
    "src/preload only bridges the contract: it may import src/shared and electron.",
  ),
  layer(
    ["src/renderer/**"],
    ["**/core/**", "**/main/**", "**/preload/**", "**/cli/**", "node:*", "electron", "node-llama-cpp", "fs", "path", "child_process"],
    "src/renderer talks to the app through the contract only: import src/shared, never Node or the core.",
  ),
);
