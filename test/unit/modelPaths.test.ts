import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, ModelNotFoundError } from "../../src/core/errors.js";
import { listModelFiles, modelIdFromPath, resolveModelIdPath } from "../../src/core/models/modelPaths.js";
import { rmSync } from "node:fs";

let root: string;
let modelsDir: string;
let outside: string;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "marduk-paths-"));
  modelsDir = path.join(root, "models");
  outside = path.join(root, "outside.gguf");
  mkdirSync(path.join(modelsDir, "owner", "repo"), { recursive: true });
  writeFileSync(path.join(modelsDir, "tiny.gguf"), "GGUF");
  writeFileSync(path.join(modelsDir, "owner", "repo", "name-Q4_K_M.gguf"), "GGUF");
  writeFileSync(path.join(modelsDir, "notes.txt"), "not a model");
  writeFileSync(outside, "GGUF");
  symlinkSync(outside, path.join(modelsDir, "escape.gguf"));
  symlinkSync(path.join(modelsDir, "tiny.gguf"), path.join(modelsDir, "alias.gguf"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("model ids", () => {
  it("are paths relative to the models dir without .gguf", () => {
    expect(modelIdFromPath(modelsDir, path.join(modelsDir, "owner", "repo", "name-Q4_K_M.gguf"))).toBe("owner/repo/name-Q4_K_M");
  });

  it("lists every GGUF file and no file outside the dir", async () => {
    const ids = (await listModelFiles(modelsDir)).map((file) => file.id);
    expect(ids).toEqual(["alias", "owner/repo/name-Q4_K_M", "tiny"]);
  });

  it("lists nothing for a missing dir", async () => {
    expect(await listModelFiles(path.join(root, "missing"))).toEqual([]);
  });

  it("resolve inside the dir", () => {
    expect(resolveModelIdPath(modelsDir, "owner/repo/name-Q4_K_M")).toBe(path.join(modelsDir, "owner/repo/name-Q4_K_M.gguf"));
    expect(resolveModelIdPath(modelsDir, "tiny.gguf")).toBe(path.join(modelsDir, "tiny.gguf"));
    expect(resolveModelIdPath(modelsDir, "alias")).toBe(path.join(modelsDir, "alias.gguf"));
  });

  it.each(["../outside", "owner/../../outside", "/etc/passwd", "C:/x", "owner\\repo", "a//b", "./tiny", "x\0y", ""])(
    "refuse the unsafe id %j",
    (id) => {
      expect(() => resolveModelIdPath(modelsDir, id)).toThrow(InvalidArgumentError);
    },
  );

  it("refuse symlinks that leave the dir, and unknown ids", () => {
    expect(() => resolveModelIdPath(modelsDir, "escape")).toThrow(ModelNotFoundError);
    expect(() => resolveModelIdPath(modelsDir, "nope")).toThrow(ModelNotFoundError);
  });
});
