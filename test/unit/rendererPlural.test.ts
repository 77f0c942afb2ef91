import { describe, expect, it } from "vitest";
import { formatCount } from "../../src/renderer/src/lib/format.js";
import { countOf, pluralize } from "../../src/renderer/src/lib/plural.js";

describe("plural helper", () => {
  it("uses the singular only for exactly one", () => {
    expect(countOf(1, "message")).toBe("1 message");
    expect(countOf(0, "message")).toBe("0 messages");
    expect(countOf(2, "message")).toBe("2 messages");
    expect(pluralize(1.5, "token")).toBe("tokens");
  });

  it("takes irregular plurals and a number format", () => {
    expect(countOf(3, "entry", "entries")).toBe("3 entries");
    expect(countOf(1, "entry", "entries")).toBe("1 entry");
    expect(countOf(1234, "token")).toBe(`${(1234).toLocaleString()} tokens`);
    expect(countOf(12_345, "token", undefined, formatCount)).toBe("12.3K tokens");
  });
});
