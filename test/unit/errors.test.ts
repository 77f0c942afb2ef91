import { describe, expect, it } from "vitest";
import { toHttpError } from "../../src/core/api/apiErrors.js";
import {
  AbortedError,
  ContextLengthExceededError,
  InvalidArgumentError,
  MardukError,
  ModelLoadFailedError,
  ModelNotFoundError,
  QueueFullError,
  toMardukError,
} from "../../src/core/errors.js";
import { ERROR_CODES } from "../../src/shared/errorCodes.js";

describe("typed errors", () => {
  it("carry stable codes", () => {
    expect(new ModelNotFoundError("x").code).toBe("model_not_found");
    expect(new ModelLoadFailedError("x", "bad magic").code).toBe("model_load_failed");
    expect(new ModelLoadFailedError("x", "bad magic").message).toContain("bad magic");
    expect(new ContextLengthExceededError(300, 10, 256).code).toBe("context_length_exceeded");
    expect(new AbortedError().code).toBe("aborted");
    expect(new InvalidArgumentError("no", "p").toPayload()).toEqual({ code: "invalid_argument", message: "no", param: "p" });
    for (const code of ERROR_CODES) expect(new MardukError(code, "m").code).toBe(code);
  });

  it("names the class", () => {
    expect(new ModelNotFoundError("x").name).toBe("ModelNotFoundError");
    expect(new ModelNotFoundError("x")).toBeInstanceOf(MardukError);
  });

  it("wraps foreign errors without losing them", () => {
    const original = new TypeError("boom");
    const wrapped = toMardukError(original);
    expect(wrapped.code).toBe("internal_error");
    expect(wrapped.cause).toBe(original);
    const abort = Object.assign(new Error("stop"), { name: "AbortError" });
    expect(toMardukError(abort).code).toBe("aborted");
  });

  it("a full KV cache (node-llama-cpp's words) is the request's size, not an internal error", () => {
    const full = toMardukError(new Error("could not find a KV slot for the batch (try reducing the size of the batch or increase the context)"));
    expect(full.code).toBe("context_length_exceeded");
    expect(full.param).toBe("messages");
    expect(full.message).toMatch(/no room left for this prompt/);
  });
});

describe("toHttpError", () => {
  it("maps codes to statuses in OpenAI's shape", () => {
    expect(toHttpError(new ModelNotFoundError("m"))).toMatchObject({ status: 404, body: { error: { code: "model_not_found", param: "model" } } });
    expect(toHttpError(new ContextLengthExceededError(9, 9, 8)).status).toBe(400);
    expect(toHttpError(new InvalidArgumentError("bad", "temperature")).body.error).toMatchObject({
      type: "invalid_request_error",
      param: "temperature",
    });
    const full = toHttpError(new QueueFullError(3));
    expect(full.status).toBe(429);
    expect(full.headers).toEqual({ "retry-after": "3" });
  });

  it("never leaks internals of unexpected errors", () => {
    const error = toHttpError(new Error("secret path /home/user/x at foo.js:1"));
    expect(error.status).toBe(500);
    expect(JSON.stringify(error.body)).not.toContain("secret");
  });
});

describe("hub and download failures over HTTP", () => {
  it("are the upstream's fault, not the client's", () => {
    expect(toHttpError(new MardukError("download_failed", "sha256 mismatch")).status).toBe(502);
    expect(toHttpError(new MardukError("hub_unauthorized", "gated")).status).toBe(403);
    expect(toHttpError(new MardukError("hub_unavailable", "down")).status).toBe(502);
    expect(toHttpError(new MardukError("insufficient_storage", "disk full")).status).toBe(507);
    expect(toHttpError(new MardukError("download_failed", "sha256 mismatch")).body.error.message).toBe("sha256 mismatch");
  });
});
