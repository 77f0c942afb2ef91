import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isAllowedHost, isSameOrigin, parseHostHeader } from "../../src/core/api/security/hostNames.js";
import { scopeAllows } from "../../src/core/api/security/registerSecurity.js";
import { ServerService } from "../../src/core/contract/ServerService.js";
import { ApiKeyStore } from "../../src/core/storage/ApiKeyStore.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { MIGRATIONS } from "../../src/core/storage/migrations.js";
import { SettingsStore } from "../../src/core/storage/SettingsStore.js";

describe("Host headers", () => {
  it("parses plain host[:port] forms", () => {
    expect(parseHostHeader("localhost")).toEqual({ name: "localhost" });
    expect(parseHostHeader("LocalHost:11435")).toEqual({ name: "localhost", port: 11435 });
    expect(parseHostHeader("10.1.2.3:80")).toEqual({ name: "10.1.2.3", port: 80 });
    expect(parseHostHeader("[::1]:8080")).toEqual({ name: "::1", port: 8080 });
    expect(parseHostHeader("[::ffff:127.0.0.1]")).toEqual({ name: "::ffff:127.0.0.1" });
    expect(parseHostHeader("gpu_box.lan")).toEqual({ name: "gpu_box.lan" });
  });

  it.each([
    undefined,
    "",
    "localhost:1234@evil.com",
    "evil.com@localhost",
    "localhost:",
    "localhost:0",
    "localhost:65536",
    "localhost:+80",
    "localhost:80:80",
    "::1",
    "[::1",
    "[::1]x",
    "[evil.com]",
    "localhost/",
    "local host",
    " localhost",
    "-bad.lan",
    "a..b",
  ])("refuses %j", (value) => {
    expect(parseHostHeader(value)).toBeUndefined();
    expect(isAllowedHost(value, new Set(["evil.com"]))).toBe(false);
  });

  it("allows IP literals, localhost and configured names only", () => {
    const names = new Set(["box.lan"]);
    for (const host of ["127.0.0.1:1", "[::1]", "192.168.1.9", "localhost:80", "box.lan:11435"]) expect(isAllowedHost(host, names), host).toBe(true);
    for (const host of ["evil.com", "box.lan.evil.com", "localhost.evil.com"]) expect(isAllowedHost(host, names), host).toBe(false);
  });
});

describe("same origin", () => {
  it("matches scheme, host and port of the server as reached", () => {
    expect(isSameOrigin("http://127.0.0.1:11435", "http", "127.0.0.1:11435")).toBe(true);
    expect(isSameOrigin("http://[::1]:8080", "http", "[::1]:8080")).toBe(true);
    expect(isSameOrigin("http://localhost", "http", "localhost:80")).toBe(true);
    expect(isSameOrigin("https://box.lan", "https", "box.lan")).toBe(true);
    expect(isSameOrigin("https://127.0.0.1:11435", "http", "127.0.0.1:11435")).toBe(false);
    expect(isSameOrigin("http://127.0.0.1:11436", "http", "127.0.0.1:11435")).toBe(false);
    expect(isSameOrigin("http://localhost:11435", "http", "127.0.0.1:11435")).toBe(false);
    expect(isSameOrigin("http://127.0.0.1", "http", "127.0.0.1:11435")).toBe(false);
  });

  it("refuses origins that are not serialised origins, and bad Host headers", () => {
    expect(isSameOrigin("http://127.0.0.1:11435/", "http", "127.0.0.1:11435")).toBe(false);
    expect(isSameOrigin("http://x@127.0.0.1:11435", "http", "127.0.0.1:11435")).toBe(false);
    expect(isSameOrigin("http://localhost:80", "http", "localhost:80")).toBe(false);
    expect(isSameOrigin("not an origin", "http", "localhost")).toBe(false);
    expect(isSameOrigin("http://localhost:1", "http", "localhost:1@evil.com")).toBe(false);
  });
});

describe("key scopes", () => {
  it("lets admin keys do everything, inference keys only inference", () => {
    expect(scopeAllows("admin", "admin")).toBe(true);
    expect(scopeAllows("admin", "inference")).toBe(true);
    expect(scopeAllows("inference", "inference")).toBe(true);
    expect(scopeAllows("inference", "admin")).toBe(false);
  });
});

describe("ApiKeyStore scopes and revocation", () => {
  let database: AppDatabase;
  beforeEach(() => {
    database = new AppDatabase(":memory:");
  });
  afterEach(() => database.dispose());

  it("stores each key's scope (default inference) and finds it with the key", () => {
    const store = new ApiKeyStore(database);
    const script = store.create("script");
    const ui = store.create("ui", "admin");
    expect(script.info.scope).toBe("inference");
    expect(store.list().map((key) => key.scope)).toEqual(["inference", "admin"]);
    expect(store.find(ui.key)).toEqual({ id: ui.info.id, scope: "admin", localOnly: false });
    expect(new ApiKeyStore(database).find(script.key)).toEqual({ id: script.info.id, scope: "inference", localOnly: false });
    expect(store.find(`${ui.key}x`)).toBeUndefined();
    expect([store.countOf("admin"), store.countOf("inference")]).toEqual([1, 1]);
    expect(() => database.db.prepare("UPDATE api_keys SET scope = 'root'").run()).toThrow(/CHECK/);
  });

  it("says which key was revoked", () => {
    const store = new ApiKeyStore(database);
    const { info } = store.create("a", "admin");
    const revoked: string[] = [];
    store.on("revoked", (id) => revoked.push(id));
    expect(store.has(info.id)).toBe(true);
    store.revoke(info.id);
    store.revoke(info.id);
    expect(revoked).toEqual([info.id]);
    expect(store.has(info.id)).toBe(false);
  });

  it("makes keys created before scopes existed inference keys", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-scopes-"));
    const file = path.join(dir, "marduk.db");
    try {
      const before = new Database(file);
      for (const sql of MIGRATIONS.slice(0, 3)) before.exec(sql);
      before.pragma("user_version = 3");
      before.prepare("INSERT INTO api_keys (id, name, prefix, sha256, created_at) VALUES ('old', 'old', 'mk-abcd', x'00', 1)").run();
      before.close();
      const migrated = new AppDatabase(file);
      expect(new ApiKeyStore(migrated).list()).toEqual([{ id: "old", name: "old", prefix: "mk-abcd", createdAt: 1, scope: "inference", localOnly: false }]);
      migrated.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ServerService's live access", () => {
  let database: AppDatabase;
  let keys: ApiKeyStore;
  let service: ServerService;
  beforeEach(() => {
    database = new AppDatabase(":memory:");
    keys = new ApiKeyStore(database);
    service = new ServerService(keys, new SettingsStore(database));
  });
  afterEach(() => {
    service.dispose();
    database.dispose();
  });

  it("verifies keys with their scope, and creates them with the scope asked for", async () => {
    const admin = await service.createKey({ name: "ui", scope: "admin" });
    const inference = await service.createKey({ name: "script" });
    expect(service.access.verifyKey(admin.key)).toEqual({ id: admin.info.id, scope: "admin", localOnly: false });
    expect(service.access.verifyKey(inference.key)).toEqual({ id: inference.info.id, scope: "inference", localOnly: false });
    await expect(service.createKey({ name: "x", scope: "owner" as never })).rejects.toMatchObject({ code: "invalid_argument", param: "scope" });
  });

  it("tells watchers once when their key is revoked, and at once when it is already gone", async () => {
    const { info } = await service.createKey({ name: "ui", scope: "admin" });
    const other = await service.createKey({ name: "other", scope: "admin" });
    const calls: string[] = [];
    service.access.watchKey(info.id, () => calls.push("first"));
    const stopSecond = service.access.watchKey(info.id, () => calls.push("second"));
    service.access.watchKey(other.info.id, () => calls.push("other"));
    stopSecond();
    await service.revokeKey({ id: info.id });
    expect(calls).toEqual(["first"]);

    service.access.watchKey(info.id, () => calls.push("late"));
    const stopped = service.access.watchKey("never-existed", () => calls.push("stopped"));
    stopped();
    await Promise.resolve();
    expect(calls).toEqual(["first", "late"]);
  });
});
