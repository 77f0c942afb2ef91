import { describe, expect, it } from "vitest";
import { normalizeJsonSchema } from "../../src/core/engine/jsonSchemaSubset.js";
import { InvalidArgumentError } from "../../src/core/errors.js";

const param = "response_format.json_schema.schema";

describe("normalizeJsonSchema", () => {
  it("keeps the supported subset and drops annotations", () => {
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      title: "Person",
      type: "object",
      properties: { name: { type: "string", maxLength: 20, description: "Full name" }, tags: { type: "array", items: { enum: ["a", "b"] } } },
      required: ["name"],
      additionalProperties: false,
    };
    expect(normalizeJsonSchema(schema, param)).toEqual({
      type: "object",
      properties: { name: { type: "string", maxLength: 20, description: "Full name" }, tags: { type: "array", items: { enum: ["a", "b"] } } },
      required: ["name"],
      additionalProperties: false,
    });
  });

  it("rewrites equivalent spellings node-llama-cpp does not know", () => {
    expect(normalizeJsonSchema({ anyOf: [{ type: "string" }, { type: "null" }] }, param)).toEqual({ oneOf: [{ type: "string" }, { type: "null" }] });
    expect(normalizeJsonSchema({ type: "object" }, param)).toEqual({ type: "object", additionalProperties: true });
    expect(normalizeJsonSchema({}, param)).toHaveProperty("oneOf");
    expect(normalizeJsonSchema({ $defs: { x: { type: "string" } }, type: "object", properties: { a: { $ref: "#/$defs/x" } } }, param)).toMatchObject({
      properties: { a: { $ref: "#/$defs/x" } },
    });
  });

  it.each([
    [{ type: "string", pattern: "^a$" }, "pattern"],
    [{ allOf: [{ type: "string" }] }, "unsupported schema"],
    [{ type: "no-such-type" }, "unsupported schema"],
    [{ type: "number", minimum: 1 }, "minimum"],
    [{ type: "object", properties: { a: { $ref: "#/$defs/missing" } } }, "$ref"],
    [{ type: "string", format: "email" }, "format"],
    [{ type: ["string", "object"] }, "list of types"],
  ])("refuses %j naming the problem", (schema, problem) => {
    let caught: unknown;
    try {
      normalizeJsonSchema(schema, param);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as Error).message).toContain(problem);
    expect((caught as InvalidArgumentError).param).toBe(param);
  });
});
