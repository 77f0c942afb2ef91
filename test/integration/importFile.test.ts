/**
 * `models.importFile`: a file from elsewhere on this machine joins the models folder. Symlinks
 * (a Hugging Face cache snapshot is a folder of them) are resolved first.
 */
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelsService, type ModelsServiceDeps } from "../../src/core/contract/ModelsService.js";
import { ModelLibrary } from "../../src/core/models/ModelLibrary.js";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";

describe.skipIf(process.platform === "win32")("importing a file through a symlink", () => {
  let root: string;
  let modelsDir: string;
  let library: ModelLibrary;
  let service: ModelsService;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "marduk-import-"));
    modelsDir = path.join(root, "models");
    mkdirSync(modelsDir);
    library = new ModelLibrary({ modelsDir, watch: false });
    // importFile needs only the models folder and the library.
    service = new ModelsService({ modelsDir, library } as unknown as ModelsServiceDeps);
  });

  afterEach(() => {
    library.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("imports the file a relative symlink leads to, under the symlink's name, as a regular file", async () => {
    // Like a Hugging Face cache: snapshots/<commit>/<name>.gguf -> ../../blobs/<sha256>.
    const blob = path.join(root, "cache", "blobs", "0123abcd");
    mkdirSync(path.dirname(blob), { recursive: true });
    copyFileSync(await getFixtureModelPath(), blob);
    const snapshot = path.join(root, "cache", "snapshots", "main");
    mkdirSync(snapshot, { recursive: true });
    const linkPath = path.join(snapshot, "fixture-F32.gguf");
    symlinkSync(path.join("..", "..", "blobs", "0123abcd"), linkPath);

    const model = await service.importFile({ path: linkPath });
    expect(model).toMatchObject({ id: "fixture-F32", status: "ok" });
    const imported = path.join(modelsDir, "fixture-F32.gguf");
    expect(lstatSync(imported).isFile()).toBe(true);
    expect(lstatSync(imported).isSymbolicLink()).toBe(false);
    expect(readFileSync(imported).equals(readFileSync(blob))).toBe(true);
  });

  it("refuses a symlink that leads to something other than a regular file", async () => {
    const folder = path.join(root, "a-folder");
    mkdirSync(folder);
    const toFolder = path.join(root, "folder.gguf");
    symlinkSync(folder, toFolder);
    await expect(service.importFile({ path: toFolder })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/is not a regular file/) as unknown });

    const toDevice = path.join(root, "device.gguf");
    symlinkSync("/dev/null", toDevice);
    await expect(service.importFile({ path: toDevice })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/is not a regular file/) as unknown });
  });

  it("refuses a symlink that leads into the models folder", async () => {
    copyFileSync(await getFixtureModelPath(), path.join(modelsDir, "already.gguf"));
    const linkPath = path.join(root, "outside.gguf");
    symlinkSync(path.join(modelsDir, "already.gguf"), linkPath);
    await expect(service.importFile({ path: linkPath })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/already in the models folder/) as unknown });
  });
});
