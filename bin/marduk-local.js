#!/usr/bin/env node
// Entry point of the `marduk-local` command: runs the compiled CLI (npm run build:node).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("../out/node/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  console.error("marduk-local is not built yet: run `npm run build:node` (or `npm run build`) first.");
  process.exit(1);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv.slice(2));
