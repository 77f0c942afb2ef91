import { describe, expect, it } from "vitest";
import { chooseSequence, commonPrefixLength, isWorthContinuing } from "../../src/core/engine/prefixMatch.js";

describe("commonPrefixLength", () => {
  it("counts the leading tokens two lists share", () => {
    expect(commonPrefixLength([1, 2, 3, 4], [1, 2, 9])).toBe(2);
    expect(commonPrefixLength([1, 2], [1, 2, 3])).toBe(2);
    expect(commonPrefixLength([1, 2, 3], [1, 2])).toBe(2);
    expect(commonPrefixLength([], [1])).toBe(0);
    expect(commonPrefixLength([5], [1])).toBe(0);
  });
});

describe("chooseSequence (candidates least recently used first)", () => {
  it("takes the sequence whose cache the prompt continues with the longest shared prefix", () => {
    expect(
      chooseSequence([
        { cachedTokens: 100, sharedPrefix: 80 },
        { cachedTokens: 300, sharedPrefix: 300 },
        { cachedTokens: 0, sharedPrefix: 0 },
      ]),
    ).toBe(1);
  });

  it("breaks ties by least recent use", () => {
    expect(
      chooseSequence([
        { cachedTokens: 50, sharedPrefix: 50 },
        { cachedTokens: 50, sharedPrefix: 50 },
      ]),
    ).toBe(0);
  });

  it("spares another conversation's cache that shares only a preamble: an empty sequence first", () => {
    // 10 shared template tokens would cost the 90 tokens of the other conversation.
    expect(
      chooseSequence([
        { cachedTokens: 100, sharedPrefix: 10 },
        { cachedTokens: 0, sharedPrefix: 0 },
      ]),
    ).toBe(1);
  });

  it("with no match and no empty sequence, evicts the least recently used", () => {
    expect(
      chooseSequence([
        { cachedTokens: 400, sharedPrefix: 10 },
        { cachedTokens: 20, sharedPrefix: 1 },
      ]),
    ).toBe(0);
    expect(chooseSequence([])).toBe(0);
  });

  it("continues a cache when it keeps more than it throws away", () => {
    expect(isWorthContinuing({ cachedTokens: 100, sharedPrefix: 51 })).toBe(true);
    expect(isWorthContinuing({ cachedTokens: 100, sharedPrefix: 50 })).toBe(false);
    expect(isWorthContinuing({ cachedTokens: 0, sharedPrefix: 0 })).toBe(false);
  });
});
