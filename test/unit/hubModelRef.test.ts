import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { formatModelRef, parseModelRef } from "../../src/core/models/modelRef.js";

describe("parseModelRef", () => {
  it("parses hub files, quantizations, bare repos and revisions", () => {
    expect(parseModelRef("hf:owner/repo/file-Q4_K_M.gguf")).toEqual({ kind: "hf", repo: "owner/repo", revision: undefined, file: "file-Q4_K_M.gguf" });
    expect(parseModelRef("hf:owner/repo/sub/dir/m-00001-of-00002.gguf")).toMatchObject({ file: "sub/dir/m-00001-of-00002.gguf" });
    expect(parseModelRef("hf:owner/repo:q4_k_m")).toEqual({ kind: "hf", repo: "owner/repo", revision: undefined, quant: "Q4_K_M" });
    expect(parseModelRef("hf:owner/repo")).toEqual({ kind: "hf", repo: "owner/repo", revision: undefined });
    expect(parseModelRef("hf:owner/repo:Q8_0@v1.0")).toMatchObject({ quant: "Q8_0", revision: "v1.0" });
    expect(parseModelRef("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")).toMatchObject({ repo: "bartowski/Llama-3.2-1B-Instruct-GGUF", quant: "Q4_K_M" });
    expect(parseModelRef("hf://owner/repo/a.gguf")).toMatchObject({ file: "a.gguf" });
  });

  it("turns hub resolve and blob URLs into hf refs so their sha256 is checked", () => {
    expect(parseModelRef("https://huggingface.co/o/r/resolve/main/x-Q8_0.gguf")).toEqual({ kind: "hf", repo: "o/r", revision: undefined, file: "x-Q8_0.gguf" });
    expect(parseModelRef("https://huggingface.co/o/r/blob/abc/d/x.gguf")).toMatchObject({ revision: "abc", file: "d/x.gguf" });
    expect(parseModelRef("http://127.0.0.1:9/o/r/resolve/main/x.gguf", { hubEndpoint: "http://127.0.0.1:9" })).toMatchObject({ kind: "hf", repo: "o/r" });
  });

  it("accepts https URLs and plain http only for loopback", () => {
    expect(parseModelRef("https://example.com/models/a.gguf")).toMatchObject({ kind: "url" });
    expect(parseModelRef("http://127.0.0.1:8080/a.gguf")).toMatchObject({ kind: "url" });
    expect(parseModelRef("http://localhost/a.gguf")).toMatchObject({ kind: "url" });
    expect(() => parseModelRef("http://example.com/a.gguf")).toThrow(/loopback/);
    expect(() => parseModelRef("ftp://example.com/a.gguf")).toThrow(InvalidArgumentError);
    expect(() => parseModelRef("https://user:pw@example.com/a.gguf")).toThrow(/credentials/);
    expect(() => parseModelRef("https://example.com/a.bin")).toThrow(/\.gguf/);
  });

  it("accepts starter names case-insensitively", () => {
    expect(parseModelRef("Qwen2.5-0.5B", { starterNames: ["qwen2.5-0.5b"] })).toEqual({ kind: "starter", name: "qwen2.5-0.5b" });
  });

  it.each([
    "",
    "hf:owner",
    "hf:owner/repo/../x.gguf",
    "hf:owner/repo/./x.gguf",
    "hf:owner/repo//x.gguf",
    "hf:owner/repo/x.bin",
    "hf:../repo/x.gguf",
    "hf:owner/repo:Q4 K",
    "hf:owner/repo@bad rev",
    "hf:owner/repo/a\\b.gguf",
    "stories260K",
  ])("refuses %j", (ref) => {
    expect(() => parseModelRef(ref)).toThrow(InvalidArgumentError);
  });

  it("formats refs back to text", () => {
    for (const text of ["hf:o/r/x.gguf", "hf:o/r:Q4_K_M@dev", "hf:o/r", "https://example.com/a.gguf"]) {
      expect(formatModelRef(parseModelRef(text))).toBe(text);
    }
  });
});
