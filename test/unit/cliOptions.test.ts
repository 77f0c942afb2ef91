import path from "node:path";
import { describe, expect, it } from "vitest";
import { defaultModelsDir } from "../../src/core/appPaths.js";
import { CliUsageError } from "../../src/cli/cliError.js";
import { DEFAULT_HOST, DEFAULT_PORT, parseServeOptions } from "../../src/cli/commands/serveOptions.js";
import { APP_VERSION } from "../../src/shared/version.js";
import { readFileSync } from "node:fs";

describe("serve options", () => {
  it("have safe defaults", () => {
    const options = parseServeOptions([], { MARDUK_MODELS_DIR: "/m" });
    expect(options).toMatchObject({ host: DEFAULT_HOST, port: DEFAULT_PORT, modelsDir: "/m", models: [], backend: "auto" });
    expect(DEFAULT_HOST).toBe("127.0.0.1");
    expect(DEFAULT_PORT).toBe(11435);
  });

  it("parse every flag", () => {
    const options = parseServeOptions(
      ["--host", "::1", "--port", "0", "--models-dir", "/x", "--model", "a", "--model", "b.gguf", "--threads", "2", "--gpu", "cpu", "--parallel", "8", "--queue", "3", "--ctx-size", "512"],
      {},
    );
    expect(options).toMatchObject({ host: "::1", port: 0, modelsDir: "/x", models: ["a", "b.gguf"], threads: 2, backend: "cpu", parallel: 8, queue: 3, contextSize: 512 });
    expect(parseServeOptions(["--help"])).toBe("help");
  });

  it("parse security flags and merge MARDUK_API_KEY", () => {
    const options = parseServeOptions(
      ["--api-key", "k1", "--cors-origin", "https://app.example.com", "--allowed-host", "box.lan", "--body-limit", "2", "--audit-prompts"],
      { MARDUK_API_KEY: "k2, k3" },
    );
    expect(options).toMatchObject({
      apiKeys: ["k1", "k2", "k3"],
      corsOrigins: ["https://app.example.com"],
      allowedHosts: ["box.lan"],
      bodyLimitBytes: 2 * 1024 * 1024,
      auditPrompts: true,
    });
  });

  it.each([["*"], ["https://app.example.com/path"], ["file:///x"], ["not a url"]])("refuse the CORS origin %j", (origin) => {
    expect(() => parseServeOptions(["--cors-origin", origin], {})).toThrow(CliUsageError);
  });

  it("parse the residency flags --ttl and --memory-budget", () => {
    expect(parseServeOptions(["--ttl", "2.5", "--memory-budget", "12"], {})).toMatchObject({ ttlMinutes: 2.5, memoryBudgetGb: 12 });
    expect(parseServeOptions(["--ttl", "0"], {})).toMatchObject({ ttlMinutes: 0 });
    expect(parseServeOptions(["--ttl=-1"], {})).toMatchObject({ ttlMinutes: -1 });
    expect(parseServeOptions([], {})).toMatchObject({ ttlMinutes: undefined, memoryBudgetGb: undefined });
    for (const args of [["--ttl", "x"], ["--ttl", ""], ["--ttl=-5"], ["--memory-budget", "0"], ["--memory-budget", "lots"]]) {
      expect(() => parseServeOptions(args, {})).toThrow(CliUsageError);
    }
  });

  it.each([["--port", "99999"], ["--gpu", "tpu"], ["--threads", "0"], ["--bogus"], ["--parallel", "x"]])("reject %j", (...args) => {
    expect(() => parseServeOptions(args, {})).toThrow(CliUsageError);
  });
});

describe("app paths", () => {
  it("follow each OS's convention", () => {
    expect(defaultModelsDir({ XDG_DATA_HOME: "/xdg" }, "linux")).toBe(path.join("/xdg", "marduk-local", "models"));
    expect(defaultModelsDir({}, "linux")).toMatch(/\.local[/\\]share[/\\]marduk-local[/\\]models$/);
    expect(defaultModelsDir({}, "darwin")).toMatch(/Library[/\\]Application Support[/\\]marduk-local[/\\]models$/);
    expect(defaultModelsDir({ MARDUK_MODELS_DIR: "/env" }, "linux")).toBe("/env");
  });

  it("the version matches package.json", () => {
    const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(APP_VERSION).toBe(packageJson.version);
  });

  it("parses upstreams with one key for all or one each, the config file and local-only keys", () => {
    const options = parseServeOptions(["--upstream", "http://10.0.0.2:11435", "--upstream", "http://10.0.0.3:8000/v1", "--upstream-key", "k", "--config", "r.yaml", "--local-only-key", "private"], {});
    expect(options).toMatchObject({
      configFile: "r.yaml",
      localOnlyApiKeys: ["private"],
      upstreams: [
        { url: "http://10.0.0.2:11435", apiKey: "k" },
        { url: "http://10.0.0.3:8000/v1", apiKey: "k" },
      ],
    });
    const paired = parseServeOptions(["--upstream", "http://a", "--upstream", "http://b", "--upstream-key", "ka", "--upstream-key", "kb"], {});
    expect(paired !== "help" && paired.upstreams.map((upstream) => upstream.apiKey)).toEqual(["ka", "kb"]);
    expect(() => parseServeOptions(["--upstream", "http://a", "--upstream-key", "1", "--upstream-key", "2", "--upstream-key", "3"], {})).toThrow(/one per --upstream/);
    expect(() => parseServeOptions(["--upstream", "not a url"], {})).toThrow(/--upstream must be a URL/);
    expect(() => parseServeOptions(["--upstream-key", "k"], {})).toThrow(/needs an --upstream/);
  });
});
