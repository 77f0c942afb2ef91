import { describe, expect, it } from "vitest";
import { StopStringMatcher } from "../../src/core/engine/StopStringMatcher.js";

function run(stops: string[], chunks: string[]): { text: string; stopped: boolean } {
  const matcher = new StopStringMatcher(stops);
  let text = "";
  for (const chunk of chunks) text += matcher.push(chunk);
  text += matcher.flush();
  return { text, stopped: matcher.stopped };
}

describe("StopStringMatcher", () => {
  it("stops before a stop string split across chunks", () => {
    expect(run([" fox"], ["The", " quick", " brown", " f", "ox", " jumps"])).toEqual({ text: "The quick brown", stopped: true });
  });

  it("holds back only what could start a stop string", () => {
    const matcher = new StopStringMatcher(["END"]);
    expect(matcher.push("abcE")).toBe("abc");
    expect(matcher.push("x")).toBe("Ex");
    expect(matcher.push("EN")).toBe("");
    expect(matcher.flush()).toBe("EN");
  });

  it("uses the earliest of several stops", () => {
    expect(run(["lazy", "quick"], ["The quick brown fox jumps over the lazy dog"])).toEqual({ text: "The ", stopped: true });
  });

  it("names the stop string that matched", () => {
    const matcher = new StopStringMatcher(["lazy", "quick"]);
    expect(matcher.matchedStop).toBeUndefined();
    matcher.push("The quick brown fox jumps over the lazy dog");
    expect(matcher.matchedStop).toBe("quick");
  });

  it("passes everything through until a stop matches", () => {
    expect(run(["zzz"], ["a", "b", "z", "zz"])).toEqual({ text: "ab", stopped: true });
    expect(run(["zzz"], ["a", "b", "z"])).toEqual({ text: "abz", stopped: false });
  });
});
