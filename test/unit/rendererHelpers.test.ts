import { describe, expect, it } from "vitest";
import { formToSettings, settingsToForm } from "../../src/renderer/src/features/chat/chatSettingsForm.js";
import { liveStats } from "../../src/renderer/src/features/chat/liveStats.js";
import { parseHash, routeHash } from "../../src/renderer/src/app/router.js";
import { formatBytes, formatDuration, formatMs, formatRate } from "../../src/renderer/src/lib/format.js";
import { errorMessage, isUnauthorizedError } from "../../src/renderer/src/lib/errorMessage.js";

describe("chat settings form", () => {
  it("round-trips settings, JSON schema included", () => {
    const settings = {
      temperature: 0.2,
      topP: 0.9,
      topK: 20,
      minP: 0.1,
      repeatPenalty: 1.1,
      maxTokens: 256,
      seed: 42,
      stop: ["###", "\n\nUser:"],
      ignoreEos: true,
      responseFormat: { type: "json_schema" as const, schema: { type: "object", properties: { a: { type: "string" } } } },
    };
    // A stop sequence with a newline cannot survive one-per-line editing; the rest does.
    const form = settingsToForm({ ...settings, stop: ["###", "END"] });
    expect(formToSettings(form)).toEqual({ settings: { ...settings, stop: ["###", "END"] } });
  });

  it("treats empty fields as defaults", () => {
    expect(formToSettings(settingsToForm({}))).toEqual({ settings: {} });
  });

  it("explains what is wrong", () => {
    const base = settingsToForm({});
    expect(formToSettings({ ...base, temperature: "3" })).toEqual({ error: "Temperature must be at most 2." });
    expect(formToSettings({ ...base, topK: "1.5" })).toEqual({ error: "Top K must be a whole number." });
    expect(formToSettings({ ...base, maxTokens: "0" })).toEqual({ error: "Max tokens must be at least 1." });
    expect(formToSettings({ ...base, outputMode: "json_schema", schema: "{oops" })).toMatchObject({ error: expect.stringMatching(/not valid JSON/) });
    expect(formToSettings({ ...base, outputMode: "json_schema", schema: "[1]" })).toEqual({ error: "The JSON schema must be a JSON object." });
    expect(formToSettings({ ...base, outputMode: "json_object" })).toEqual({ settings: { responseFormat: { type: "json_object" } } });
  });
});

describe("helpers", () => {
  it("computes live stats of a streaming reply", () => {
    expect(liveStats({ requestId: 1, conversationId: "c", text: "", reasoning: "", tokenCount: 0, reasoningTokenCount: 0, startedAt: 100, stopRequested: false })).toEqual({
      tokens: 0,
      tokensPerSecond: null,
      timeToFirstTokenMs: null,
    });
    expect(
      liveStats({ requestId: 1, conversationId: "c", text: "x", reasoning: "", tokenCount: 200, reasoningTokenCount: 0, startedAt: 100, firstTokenAt: 150, lastTokenAt: 1150, stopRequested: false }),
    ).toEqual({ tokens: 200, tokensPerSecond: 200, timeToFirstTokenMs: 50 });
  });

  it("parses and builds routes", () => {
    expect(parseHash("")).toEqual({ screen: "models" });
    expect(parseHash("#/dashboard")).toEqual({ screen: "dashboard" });
    expect(parseHash("#/chat/abc%2F1")).toEqual({ screen: "chat", conversationId: "abc/1" });
    expect(parseHash("#/nowhere")).toEqual({ screen: "models" });
    expect(routeHash({ screen: "chat", conversationId: "abc/1" })).toBe("#/chat/abc%2F1");
  });

  it("formats numbers for people", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.54 KB");
    expect(formatBytes(4_200_000_000)).toBe("4.20 GB");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(185)).toBe("3 min 5 s");
    expect(formatDuration(3720)).toBe("1 h 2 min");
    expect(formatMs(850)).toBe("850 ms");
    expect(formatMs(1250)).toBe("1.25 s");
    expect(formatRate(1234.5)).toBe("1235");
    expect(formatRate(12.34)).toBe("12.3");
  });

  it("reads error messages and codes", () => {
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage(undefined)).toBe("Something went wrong.");
    expect(isUnauthorizedError({ code: "unauthorized", message: "x" })).toBe(true);
    expect(isUnauthorizedError({ code: "model_not_found", message: "x" })).toBe(false);
  });
});
