import { describe, expect, it } from "vitest";
import { fileNameFromUrl, hostFolderName } from "../../src/core/models/downloads/downloadFileName.js";
import { checkDownloadUrl, downloadUrlPolicyFor } from "../../src/core/models/downloads/downloadUrlPolicy.js";

const nameOf = (url: string): string => fileNameFromUrl(new URL(url));

describe("fileNameFromUrl", () => {
  it("keeps ordinary names, decoded once", () => {
    expect(nameOf("https://h.example/a/model-Q4_K_M.gguf")).toBe("model-Q4_K_M.gguf");
    expect(nameOf("https://h.example/a/my%20model.gguf")).toBe("my model.gguf");
    expect(nameOf("https://h.example/a/Model.GGUF")).toBe("Model.GGUF");
    // Decoded once only: a doubly encoded dot stays text.
    expect(nameOf("https://h.example/a/%252e%252e.gguf")).toBe("%2e%2e.gguf");
    expect(nameOf("https://h.example/a/bad%zzescape.gguf")).toBe("bad%zzescape.gguf");
  });

  it("never gives a hidden file, `..`, a path or a control character", () => {
    expect(nameOf("https://h.example/a/%2e%2e.gguf")).toBe("model.gguf");
    expect(nameOf("https://h.example/a/%2E%2E%2E%2E.gguf")).toBe("model.gguf");
    expect(nameOf("https://h.example/a/.gguf")).toBe("model.gguf");
    expect(nameOf("https://h.example/a/.hidden.gguf")).toBe("hidden.gguf");
    expect(nameOf("https://h.example/a/%2e%2e%2fetc.gguf")).toBe("_etc.gguf");
    expect(nameOf("https://h.example/a/..%5c..%5cwin.gguf")).toBe("_._win.gguf");
    expect(nameOf("https://h.example/a/a..b.gguf")).toBe("a.b.gguf");
    expect(nameOf("https://h.example/a/line%0Abreak%7F.gguf")).toBe("line_break_.gguf");
    expect(nameOf("https://h.example/a/c%3A%2A%3F.gguf")).toBe("c___.gguf");
    expect(nameOf("https://h.example/a/trailing.%20.gguf")).toBe("trailing.gguf");
    expect(nameOf(`https://h.example/a/${"x".repeat(400)}.gguf`)).toBe(`${"x".repeat(180)}.gguf`);
  });

  it("adds .gguf when the name lacks it", () => {
    expect(nameOf("https://h.example/a/blob")).toBe("blob.gguf");
    expect(nameOf("https://h.example/")).toBe("model.gguf");
  });
});

describe("hostFolderName", () => {
  it("is the host name, or a colon-free form of an IPv6 literal", () => {
    expect(hostFolderName(new URL("https://models.example:8443/x.gguf"))).toBe("models.example");
    expect(hostFolderName(new URL("http://127.0.0.1:8080/x.gguf"))).toBe("127.0.0.1");
    expect(hostFolderName(new URL("http://[::1]:8080/x.gguf"))).toBe("ipv6-0-0-0-0-0-0-0-1");
    expect(hostFolderName(new URL("https://[2001:db8::8a2e:370:7334]/x.gguf"))).toBe("ipv6-2001-db8-0-0-0-8a2e-370-7334");
    expect(hostFolderName(new URL("https://[fe80::]/x.gguf"))).toBe("ipv6-fe80-0-0-0-0-0-0-0");
    expect(hostFolderName(new URL("https://[1:2:3:4:5:6:7:8]/x.gguf"))).toBe("ipv6-1-2-3-4-5-6-7-8");
  });
});

describe("checkDownloadUrl", () => {
  const policy = downloadUrlPolicyFor("http://mirror.lan:8080");
  const check = (url: string, redirected = true): void =>
    checkDownloadUrl(new URL(url), policy, { startUrl: new URL("https://start.example/x.gguf"), redirected });

  it("allows https anywhere, and plain http to loopback or the hub's own origin", () => {
    for (const url of ["https://cdn.example/x", "http://127.0.0.1:9/x", "http://[::1]:9/x", "http://localhost/x", "http://mirror.lan:8080/x"]) {
      expect(() => check(url), url).not.toThrow();
    }
  });

  it("refuses plain http elsewhere, other schemes and credentials, without quoting the target", () => {
    for (const url of ["http://cdn.example/x", "http://mirror.lan/x", "http://10.0.0.1/x", "http://[fe80::1]/x", "file:///etc/passwd", "ftp://h.example/x", "https://user:pw@h.example/x"]) {
      let message = "";
      try {
        check(url);
      } catch (error) {
        expect(error, url).toMatchObject({ reason: "url_refused", code: "download_failed" });
        message = (error as Error).message;
      }
      expect(message, url).toMatch(/^The download from https:\/\/start\.example\/x\.gguf was redirected to .*refused/);
      expect(message, url).not.toContain(new URL(url).host || "etc/passwd");
    }
  });
});
