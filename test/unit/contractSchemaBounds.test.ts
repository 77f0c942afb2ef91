import { describe, expect, it } from "vitest";
import { MAX_JSON_NESTING } from "../../src/core/api/validation.js";
import { parseRequest, updateConversationRequest } from "../../src/core/contract/requestSchemas.js";
import { InvalidArgumentError } from "../../src/core/errors.js";

/** A JSON schema nested `depth` levels deep through `properties`. */
function deepSchema(depth: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: "string" };
  for (let level = 0; level < depth; level++) schema = { type: "object", properties: { a: schema } };
  return schema;
}

describe("the app's contract bounds JSON schemas as the HTTP API does", () => {
  it("refuses a deeply nested response schema in chat settings with a 400, not a stack overflow", () => {
    const request = { id: "c1", settings: { responseFormat: { type: "json_schema", schema: deepSchema(10_000) } } };
    const error = (() => {
      try {
        parseRequest(updateConversationRequest, request);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(`at most ${MAX_JSON_NESTING} are allowed`);
    expect(() => parseRequest(updateConversationRequest, { id: "c1", settings: { responseFormat: { type: "json_schema", schema: deepSchema(20) } } })).not.toThrow();
  });
});
