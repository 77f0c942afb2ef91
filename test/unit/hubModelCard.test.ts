import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { MachineResources } from "../../src/shared/api/hub.js";
import { HubClient } from "../../src/core/models/hub/HubClient.js";
import { FileHubTokenVault, HubTokenStore, type HubTokenVault } from "../../src/core/models/hub/HubTokenStore.js";
import { readBoundedText, stripFrontMatter } from "../../src/core/models/hub/modelCard.js";
import { roughFitEstimate } from "../../src/core/models/hub/roughFit.js";

const GiB = 1024 ** 3;
const machine: MachineResources = { ramTotalBytes: 16 * GiB, ramFreeBytes: 8 * GiB, gpu: false, vramTotalBytes: 0, vramFreeBytes: 0 };

class MemoryVault implements HubTokenVault {
  value: string | undefined;
  reads = 0;
  read() {
    this.reads++;
    return this.value;
  }
  write(token: string) {
    this.value = token;
  }
  clear() {
    this.value = undefined;
  }
}

describe("model cards", () => {
  it("strips YAML front matter only at the very start", () => {
    expect(stripFrontMatter("---\nlicense: mit\ntags: [a]\n---\n\n# Title\ntext")).toBe("# Title\ntext");
    expect(stripFrontMatter("\uFEFF---\r\nlicense: mit\r\n...\r\n# T")).toBe("# T");
    expect(stripFrontMatter("# Title\n\n---\nnot: front matter\n---\n")).toBe("# Title\n\n---\nnot: front matter\n---\n");
    // An unclosed block is not front matter.
    expect(stripFrontMatter("---\nlicense: mit\n# Title")).toBe("---\nlicense: mit\n# Title");
  });

  it("reads at most the bound and stops the stream there", async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new TextEncoder().encode("é".repeat(1000))); // 2000 bytes a chunk, without end
      },
    });
    const { text, truncated } = await readBoundedText(new Response(body), 4001);
    expect(truncated).toBe(true);
    // 4001 bytes: 2000 whole "é" and half of one, replaced rather than failing.
    expect(text).toBe(`${"é".repeat(2000)}\uFFFD`);
    expect(pulls).toBeLessThan(6);
    expect(await readBoundedText(new Response("short"), 100)).toEqual({ text: "short", truncated: false });
  });
});

describe("HubClient.modelCard", () => {
  it("cuts a long README at the bound, sends the current token, and gives up after its timeout", async () => {
    let token: string | undefined = undefined;
    const seen: Array<string | null> = [];
    const client = new HubClient({
      endpoint: "https://hub.test",
      token: () => token,
      fetch: async (_input, init) => {
        seen.push(new Headers(init?.headers).get("authorization"));
        return new Response(`---\nlicense: mit\n---\n# Card\n${"x".repeat(10_000)}`, { status: 200 });
      },
    });
    const card = await client.modelCard("o/r", { maxBytes: 100 });
    expect(card).toMatchObject({ repo: "o/r", truncated: true, pageUrl: "https://hub.test/o/r" });
    expect(card.markdown).toMatch(/^# Card\nx+$/);
    token = "hf_now";
    await client.modelCard("o/r");
    expect(seen).toEqual([null, "Bearer hf_now"]);

    const hanging = new HubClient({
      endpoint: "https://hub.test",
      fetch: (_input, init) => new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))),
    });
    await expect(hanging.modelCard("o/r", { timeoutMs: 20 })).rejects.toMatchObject({ code: "hub_unavailable", message: /within 20 ms/ });
    client.dispose();
    hanging.dispose();
  });
});

describe("the Hugging Face token", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("is kept in a 0600 file written atomically, and removed when cleared", () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marduk-token-"));
    const file = path.join(dir, "nested", "hf-token");
    const vault = new FileHubTokenVault(file);
    expect(vault.read()).toBeUndefined();
    vault.write("hf_first");
    vault.write("hf_second");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toBe("hf_second\n");
    expect(vault.read()).toBe("hf_second");
    vault.clear();
    vault.clear();
    expect(vault.read()).toBeUndefined();
  });

  it("uses the environment's token over a stored one, and never reports the token", () => {
    const vault = new MemoryVault();
    vault.value = "hf_stored";
    const withEnv = new HubTokenStore({ vault, envToken: "hf_env" });
    expect(withEnv.token()).toBe("hf_env");
    expect(withEnv.status()).toEqual({ configured: true, source: "env", stored: true });
    expect(withEnv.clear()).toEqual({ configured: true, source: "env", stored: false });
    expect(withEnv.token()).toBe("hf_env");

    const store = new HubTokenStore({ vault: new MemoryVault() });
    expect(store.status()).toEqual({ configured: false, source: "none", stored: false });
    const status = store.set("  hf_abc  ");
    expect(status).toEqual({ configured: true, source: "stored", stored: true });
    expect(JSON.stringify(status)).not.toContain("hf_abc");
    expect(store.token()).toBe("hf_abc");
    expect(() => store.set("")).toThrow(/Enter a token/);
    expect(() => store.set("hf a")).toThrow(/no spaces/);
    expect(() => store.set("x".repeat(600))).toThrow(/at most/);
    expect(store.token()).toBe("hf_abc");
  });

  it("is used by the CLI's hub client (HubClient.fromEnv) unless HF_TOKEN is set", () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marduk-token-"));
    new FileHubTokenVault(path.join(dir, "hf-token")).write("hf_saved");
    const env = { HF_ENDPOINT: "https://hub.test", MARDUK_DATA_DIR: dir };
    expect(HubClient.fromEnv(env).authHeaders()).toEqual({ authorization: "Bearer hf_saved" });
    expect(HubClient.fromEnv({ ...env, HF_TOKEN: "hf_env" }).authHeaders()).toEqual({ authorization: "Bearer hf_env" });
    expect(HubClient.fromEnv({ HF_ENDPOINT: "https://hub.test" }, { dataDir: path.join(dir, "none") }).hasToken).toBe(false);
  });

  it("ignores a stored token that is not one (a hand-edited file)", () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marduk-token-"));
    const file = path.join(dir, "hf-token");
    writeFileSync(file, "two words\n");
    expect(new HubTokenStore({ vault: new FileHubTokenVault(file) }).status().configured).toBe(false);
  });
});

describe("fit by file size", () => {
  it("counts every part's bytes and says it is a size estimate", () => {
    const fits = roughFitEstimate(2 * GiB, machine);
    expect(fits).toMatchObject({ verdict: "fits in RAM", basis: "file size" });
    expect(fits.needs.cpuOnly.ramBytes).toBeGreaterThan(2 * GiB);
    expect(fits.reason).toMatch(/download size/);
    expect(roughFitEstimate(9 * GiB, machine).verdict).toBe("too large");
  });
});
