import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Native llama.cpp contexts spin CPU threads: on a 2-core machine, running model-heavy
    // files side by side slows everything down, so files run one at a time.
    fileParallelism: false,
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
