import { describe, expect, it } from "vitest";
import { GENERATION_DEFAULTS, resolveGenerationOptions } from "../../src/core/engine/generationOptions.js";
import { InvalidArgumentError } from "../../src/core/errors.js";

describe("resolveGenerationOptions", () => {
  it("fills in the documented defaults", () => {
    expect(resolveGenerationOptions({})).toEqual({ ...GENERATION_DEFAULTS, stop: [] });
    expect(resolveGenerationOptions(undefined).temperature).toBe(0.8);
  });

  it("keeps valid values", () => {
    const options = resolveGenerationOptions({ maxTokens: 5, temperature: 0, seed: 42, stop: ["\n"], ignoreEos: true });
    expect(options).toMatchObject({ maxTokens: 5, temperature: 0, seed: 42, stop: ["\n"], ignoreEos: true, topK: 40 });
  });

  it.each([
    [{ maxTokens: 0 }, "maxTokens"],
    [{ maxTokens: 1.5 }, "maxTokens"],
    [{ temperature: 2.5 }, "temperature"],
    [{ temperature: -1 }, "temperature"],
    [{ topP: 1.1 }, "topP"],
    [{ topK: -1 }, "topK"],
    [{ minP: 2 }, "minP"],
    [{ seed: -3 }, "seed"],
    [{ stop: Array.from({ length: 17 }, () => "x") }, "stop"],
    [{ stop: [""] }, "stop.0"],
    [{ presencePenalty: 3 }, "presencePenalty"],
  ])("rejects %j naming '%s'", (input, param) => {
    let caught: unknown;
    try {
      resolveGenerationOptions(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).code).toBe("invalid_argument");
    expect((caught as InvalidArgumentError).param).toBe(param);
    expect((caught as Error).message).toContain(param);
  });

  it("rejects unknown options instead of ignoring them", () => {
    expect(() => resolveGenerationOptions({ temprature: 1 })).toThrow(/temprature|Unrecognized/);
  });
});
