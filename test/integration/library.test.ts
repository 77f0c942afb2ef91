/**
 * The model library over generated GGUF files: scanning (whole, split, corrupt, truncated,
 * adapter), the metadata cache, origin sidecars, watching, deleting.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, ModelNotFoundError } from "../../src/core/errors.js";
import { findModelFiles } from "../../src/core/models/library/deleteModelFiles.js";
import { ModelLibrary } from "../../src/core/models/ModelLibrary.js";
import { resolveModelIdPath } from "../../src/core/models/modelPaths.js";
import type { LibraryModel } from "../../src/shared/api/library.js";
import { getFixtureModelPath, writeNotGguf, writeTruncatedGguf } from "../fixtures/gguf/index.js";
import { writeFixtureLora, writeSplitModel } from "../helpers/libraryModels.js";

let root: string;
let modelsDir: string;
let fixture: string;
/** Parameters of the fixture model: token_embd + output (448 x 393 each), q/o (448 x 448), k/v (448 x 64), FFN, norms. */
let fixtureParameters: number;

const ORIGIN = {
  source: "huggingface",
  repo: "marduk/fixture-GGUF",
  revision: "main",
  file: "fixture-F32.gguf",
  sha256: "ab".repeat(32),
  url: "https://example.invalid/fixture-F32.gguf",
  downloadedAt: "2025-01-01T00:00:00.000Z",
};

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "marduk-library-"));
  modelsDir = path.join(root, "models");
  fixture = await getFixtureModelPath();
  await mkdir(path.join(modelsDir, "owner", "repo"), { recursive: true });
  await copyFile(fixture, path.join(modelsDir, "fixture-F32.gguf"));
  await writeFile(path.join(modelsDir, ".fixture-F32.gguf.origin.json"), JSON.stringify(ORIGIN));
  await writeSplitModel(fixture, path.join(modelsDir, "owner", "repo"), "split-Q8_0", 3);
  const missing = await writeSplitModel(fixture, modelsDir, "incomplete", 2);
  await rm(missing[1]!);
  await writeNotGguf(path.join(modelsDir, "not-a-model-Q4_K_M.gguf"));
  await writeTruncatedGguf(fixture, path.join(modelsDir, "truncated.gguf"), 64);
  const size = (await stat(fixture)).size;
  await writeTruncatedGguf(fixture, path.join(modelsDir, "cut-data.gguf"), size - 100_000);
  await writeFixtureLora(fixture, path.join(modelsDir, "dog-lora.gguf"));
  const n = 448;
  fixtureParameters = 2 * n * 393 + 2 * n * n + 2 * n * 64 + 3 * n * 32 + 3 * n;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function byId(models: LibraryModel[], id: string): LibraryModel {
  const model = models.find((candidate) => candidate.id === id);
  if (!model) throw new Error(`no model ${id} in ${models.map((candidate) => candidate.id).join(", ")}`);
  return model;
}

/** Resolves with the first `changed` list that satisfies `predicate`. */
function waitForChange(library: ModelLibrary, predicate: (models: LibraryModel[]) => boolean, timeoutMs = 20_000): Promise<LibraryModel[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no matching 'changed' event")), timeoutMs);
    const listener = (models: LibraryModel[]): void => {
      if (!predicate(models)) return;
      clearTimeout(timer);
      library.off("changed", listener);
      resolve(models);
    };
    library.on("changed", listener);
  });
}

describe("scanning the models dir", () => {
  let models: LibraryModel[];

  beforeAll(async () => {
    const library = new ModelLibrary({ modelsDir, watch: false });
    models = await library.list();
    library.dispose();
  });

  it("lists every model once, sorted by id", () => {
    expect(models.map((model) => model.id)).toEqual([
      "cut-data",
      "dog-lora",
      "fixture-F32",
      "incomplete",
      "not-a-model-Q4_K_M",
      "owner/repo/split-Q8_0",
      "truncated",
    ]);
  });

  it("reads a model's metadata and origin", () => {
    const size = models.find((model) => model.id === "fixture-F32")!.sizeBytes;
    expect(byId(models, "fixture-F32")).toEqual({
      id: "fixture-F32",
      kind: "model",
      layerCount: 2,
      files: [{ path: "fixture-F32.gguf", sizeBytes: size }],
      sizeBytes: size,
      modifiedAt: expect.any(Number),
      name: "Marduk fixture",
      architecture: "llama",
      parameterCount: fixtureParameters,
      quantization: "F32",
      contextLength: 2048,
      hasChatTemplate: true,
      capabilities: ["chat", "completion"],
      origin: ORIGIN,
      status: "ok",
    });
  });

  it("shows a split model as one model with every part", () => {
    const split = byId(models, "owner/repo/split-Q8_0");
    expect(split.files.map((file) => file.path)).toEqual([
      "owner/repo/split-Q8_0-00001-of-00003.gguf",
      "owner/repo/split-Q8_0-00002-of-00003.gguf",
      "owner/repo/split-Q8_0-00003-of-00003.gguf",
    ]);
    expect(split.sizeBytes).toBe(split.files.reduce((sum, file) => sum + file.sizeBytes, 0));
    // Metadata comes from the first part, tensors from all of them; file_type wins over the name.
    expect(split).toMatchObject({ status: "ok", architecture: "llama", parameterCount: fixtureParameters, quantization: "F32" });
  });

  it("lists broken files with the reason, without breaking the scan", () => {
    expect(byId(models, "not-a-model-Q4_K_M")).toMatchObject({
      status: "broken",
      error: expect.stringMatching(/^not a valid GGUF file \(.+\)$/),
      quantization: "Q4_K_M",
      capabilities: [],
    });
    expect(byId(models, "truncated")).toMatchObject({ status: "broken", error: expect.stringContaining("the file is truncated: its header needs") });
    expect(byId(models, "cut-data")).toMatchObject({ status: "broken", error: expect.stringContaining("truncated") });
    expect(byId(models, "incomplete")).toMatchObject({ status: "broken", error: "missing part 2 of 2" });
  });

  it("marks LoRA adapters as adapters with no capabilities", () => {
    expect(byId(models, "dog-lora")).toMatchObject({ kind: "adapter", status: "ok", architecture: "llama", capabilities: [] });
  });

  it("resolves a split model's id to its first part", () => {
    expect(resolveModelIdPath(modelsDir, "owner/repo/split-Q8_0")).toBe(
      path.join(modelsDir, "owner", "repo", "split-Q8_0-00001-of-00003.gguf"),
    );
  });
});

describe("metadata cache", () => {
  it("re-reads a file only when its size or modification time changes", async () => {
    const dir = await mkdtemp(path.join(root, "cache-"));
    const file = path.join(dir, "m.gguf");
    await copyFile(fixture, file);
    const mtime = new Date("2024-06-01T12:00:00Z");
    await utimes(file, mtime, mtime);
    const library = new ModelLibrary({ modelsDir: dir, watch: false });
    expect((await library.list())[0]).toMatchObject({ status: "ok" });

    // Same size and mtime, different bytes: the cached metadata is used.
    const bytes = await readFile(file);
    bytes.write("XXXX", 0);
    await writeFile(file, bytes);
    await utimes(file, mtime, mtime);
    expect((await library.list())[0]).toMatchObject({ status: "ok" });

    // A new mtime: read again, and now it is broken.
    await utimes(file, mtime, new Date(mtime.getTime() + 5000));
    expect((await library.list())[0]).toMatchObject({ status: "broken" });
    library.dispose();
  });
});

describe("watching", () => {
  it.each(["native", "poll"] as const)("emits 'changed' when a model is added or removed (%s)", async (mode) => {
    const dir = await mkdtemp(path.join(root, `watch-${mode}-`));
    await mkdir(path.join(dir, "sub"));
    const library = new ModelLibrary({ modelsDir: dir, watch: mode, debounceMs: 50, pollIntervalMs: 100 });
    try {
      expect(await library.list()).toEqual([]);
      const added = waitForChange(library, (models) => models.some((model) => model.id === "sub/new"));
      await copyFile(fixture, path.join(dir, "sub", "new.gguf"));
      expect(byId(await added, "sub/new")).toMatchObject({ status: "ok", architecture: "llama" });

      const removed = waitForChange(library, (models) => models.length === 0);
      await rm(path.join(dir, "sub", "new.gguf"));
      await removed;
    } finally {
      library.dispose();
    }
  });

  it("stops watching on dispose", async () => {
    const dir = await mkdtemp(path.join(root, "dispose-"));
    const library = new ModelLibrary({ modelsDir: dir, debounceMs: 20 });
    expect(library.watchMode).toBe("native");
    library.dispose();
    expect(library.watchMode).toBeUndefined();
  });
});

describe("deleting", () => {
  it("deletes every part of a split model and the sidecars", async () => {
    const dir = await mkdtemp(path.join(root, "rm-"));
    const parts = await writeSplitModel(fixture, dir, "big", 2);
    for (const part of parts) await writeFile(path.join(dir, `.${path.basename(part)}.origin.json`), JSON.stringify(ORIGIN));
    await copyFile(fixture, path.join(dir, "keep.gguf"));
    const library = new ModelLibrary({ modelsDir: dir, watch: false });
    const deleted = await library.remove("big");
    expect(deleted.map((file) => path.basename(file))).toEqual([
      "big-00001-of-00002.gguf",
      "big-00002-of-00002.gguf",
      ".big-00001-of-00002.gguf.origin.json",
      ".big-00002-of-00002.gguf.origin.json",
    ]);
    for (const file of deleted) expect(existsSync(file)).toBe(false);
    expect((await library.list()).map((model) => model.id)).toEqual(["keep"]);
    library.dispose();
  });

  it("refuses ids outside the models dir", () => {
    expect(() => findModelFiles(modelsDir, "../outside")).toThrow(InvalidArgumentError);
    expect(() => findModelFiles(modelsDir, "/etc/passwd")).toThrow(InvalidArgumentError);
    expect(() => findModelFiles(modelsDir, "nope")).toThrow(ModelNotFoundError);
  });
});
