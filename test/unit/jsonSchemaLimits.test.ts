import { describe, expect, it } from "vitest";
import { MAX_JSON_NESTING, chatCompletionRequestSchema } from "../../src/core/api/openai/chatCompletionSchema.js";
import { ollamaChatSchema } from "../../src/core/api/ollama/ollamaSchemas.js";
import { parseBody } from "../../src/core/api/validation.js";
import { checkJsonSchemaLimits, JSON_SCHEMA_LIMITS as LIMITS, JsonSchemaBudget } from "../../src/core/engine/jsonSchemaLimits.js";
import { normalizeJsonSchema } from "../../src/core/engine/jsonSchemaSubset.js";
import { forcedToolCallSchema, selectTools, toChatModelFunctions } from "../../src/core/engine/structuredOutput.js";
import { InvalidArgumentError } from "../../src/core/errors.js";

const param = "response_format.json_schema.schema";

type Schema = Record<string, unknown>;

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Expects `schema` to be refused with a 400 for `param` whose message contains every fragment. */
function expectRefused(schema: unknown, ...fragments: string[]): string {
  const error = caught(() => normalizeJsonSchema(schema, param));
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as InvalidArgumentError).param).toBe(param);
  const message = (error as Error).message;
  expect(message.startsWith(`Invalid value for '${param}': `)).toBe(true);
  for (const fragment of fragments) expect(message).toContain(fragment);
  return message;
}

function expectAccepted(schema: unknown): void {
  expect(() => normalizeJsonSchema(schema, param)).not.toThrow();
}

const objectOf = (properties: Schema): Schema => ({ type: "object", properties });
const propertiesOf = (count: number, make: (index: number) => unknown, prefix = "p"): Schema =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index}`, make(index)]));
const values = (count: number, tag = "v"): string[] => Array.from({ length: count }, (_, index) => `${tag}${index}`);

/** `levels` subschemas, each the `wrap` of the next, ending in a string. */
function nested(levels: number, wrap: (inner: unknown) => Schema): Schema {
  let schema: Schema = { type: "string" };
  for (let level = 1; level < levels; level++) schema = wrap(schema);
  return schema;
}
const asItems = (inner: unknown): Schema => ({ type: "array", items: inner });
const asProperty = (inner: unknown): Schema => objectOf({ a: inner });
const asOption = (inner: unknown): Schema => ({ oneOf: [inner, { type: "null" }] });

/** An object of objects holding `leaves` integers: 1 + groups + leaves nodes. */
function nodesOfIntegers(leaves: number): Schema {
  const groups = Math.ceil(leaves / LIMITS.maxProperties);
  return objectOf(propertiesOf(groups, (group) => objectOf(propertiesOf(Math.min(LIMITS.maxProperties, leaves - group * LIMITS.maxProperties), () => ({ type: "integer" }))), "g"));
}

describe("JSON schema limits", () => {
  it("refuses a 64,000-value enum quickly, naming the limit and the path", () => {
    const schema = objectOf({ color: { enum: values(64_000, "color") } });
    const startedAt = performance.now();
    const message = expectRefused(schema);
    console.log(`64,000-value enum refused in ${(performance.now() - startedAt).toFixed(2)} ms`);
    expect(message).toBe(`Invalid value for '${param}': enum at properties.color has 64000 values; at most 1024 are allowed`);
    expectAccepted(objectOf({ color: { enum: values(LIMITS.maxAlternatives) } }));
  });

  it.each([
    ["items", asItems, "items.items."],
    ["properties", asProperty, "properties.a.properties.a."],
    ["oneOf", asOption, "oneOf[0].oneOf[0]."],
  ])("refuses a schema nested 10,000 deep through %s with an InvalidArgumentError, not a stack overflow", (_label, wrap, pathStart) => {
    expectRefused(nested(10_000, wrap), `schema at ${pathStart}`, `is nested more than ${LIMITS.maxDepth} levels deep`);
  });

  it("allows exactly maxDepth levels", () => {
    expectAccepted(nested(LIMITS.maxDepth, asItems));
    expectRefused(nested(LIMITS.maxDepth + 1, asItems), `nested more than ${LIMITS.maxDepth} levels deep`);
    // Definitions count from the document root too, and a deep $defs entry is refused.
    expectRefused({ $defs: { deep: nested(LIMITS.maxDepth, asItems) }, type: "object", properties: { a: { $ref: "#/$defs/deep" } } }, "schema at $defs.deep.items");
  });

  it("limits the alternatives of one enum, oneOf or anyOf", () => {
    expectRefused({ enum: values(LIMITS.maxAlternatives + 1) }, `enum at the top level has ${LIMITS.maxAlternatives + 1} values; at most ${LIMITS.maxAlternatives} are allowed`);
    const consts = (count: number): Schema[] => values(count).map((value) => ({ const: value }));
    expectAccepted({ oneOf: consts(LIMITS.maxAlternatives) });
    expectRefused(objectOf({ x: { oneOf: consts(LIMITS.maxAlternatives + 1) } }), `oneOf at properties.x has ${LIMITS.maxAlternatives + 1} options`);
    expectRefused(objectOf({ x: { anyOf: consts(LIMITS.maxAlternatives + 1) } }), `anyOf at properties.x has ${LIMITS.maxAlternatives + 1} options`);
  });

  it("counts the alternatives of nested oneOf/anyOf, enums, type lists and $ref targets at the same position", () => {
    const half = LIMITS.maxAlternatives / 2;
    expectAccepted({ oneOf: [{ enum: values(half, "a") }, { enum: values(half, "b") }] });
    expectRefused({ oneOf: [{ enum: values(half, "a") }, { anyOf: [{ enum: values(half, "b") }, { type: ["string", "null"] }] }] }, "oneOf at the top level offers more than 1024 alternatives");
    const viaReferences = {
      $defs: { a: { enum: values(half, "a") }, b: { enum: values(half, "b") } },
      type: "object",
      properties: { x: { oneOf: [{ $ref: "#/$defs/a" }, { $ref: "#/$defs/b" }, { const: "c" }] } },
    };
    expectRefused(viaReferences, "oneOf at properties.x offers more than 1024 alternatives");
    // Alternatives inside an object or array option start at another position: they do not add up.
    expectAccepted({ oneOf: [objectOf({ a: { enum: values(LIMITS.maxAlternatives, "a") } }), { type: "array", items: { enum: values(LIMITS.maxAlternatives, "b") } }] });
  });

  it("does not loop on recursive $refs while counting alternatives", () => {
    const tree = { $defs: { node: objectOf({ value: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/node" } } }) }, $ref: "#/$defs/node" };
    expectAccepted(tree);
    const leftRecursive = { $defs: { a: { oneOf: [{ $ref: "#/$defs/a" }, { type: "null" }] } }, type: "object", properties: { x: { $ref: "#/$defs/a" } } };
    expect(() => checkJsonSchemaLimits(leftRecursive, param)).not.toThrow();
  });

  it("limits the nodes of a schema, counting places that accept any JSON value as more", () => {
    expectAccepted(nodesOfIntegers(LIMITS.maxNodes - 3));
    expectRefused(nodesOfIntegers(LIMITS.maxNodes - 2), `more than ${LIMITS.maxNodes} subschemas in the schema (reached at properties.g1.properties.p1021`);
    const anyValue = 1 + 2 * LIMITS.anyValueWeight;
    const anyCount = Math.floor((LIMITS.maxNodes - 1) / anyValue);
    expectAccepted(objectOf(propertiesOf(anyCount, () => ({}))));
    expectRefused(objectOf(propertiesOf(anyCount + 1, () => ({ description: "anything" }))), `subschemas in the schema`);
    const anyObject = 1 + LIMITS.anyValueWeight;
    const objectCount = Math.floor((LIMITS.maxNodes - 1) / anyObject);
    expectAccepted(objectOf(propertiesOf(objectCount, () => ({ type: "object" }))));
    expectRefused(objectOf(propertiesOf(objectCount + 1, () => ({ type: "array" }))), "subschemas in the schema");
  });

  it("limits enum and const values in all", () => {
    const perEnum = LIMITS.maxAlternatives;
    const enums = LIMITS.maxEnumValues / perEnum;
    expectAccepted(objectOf(propertiesOf(enums, (index) => ({ enum: values(perEnum, `e${index}_`) }))));
    expectRefused(
      objectOf({ ...propertiesOf(enums, (index) => ({ enum: values(perEnum, `e${index}_`) })), last: { const: "one too many" } }),
      `more than ${LIMITS.maxEnumValues} enum and const values in the schema (reached at properties.last)`,
    );
  });

  it("limits the length of enum values, consts and property names, and their characters in all", () => {
    const longest = "x".repeat(LIMITS.maxLiteralLength);
    expectAccepted({ enum: [longest] });
    expectRefused(objectOf({ c: { enum: ["ok", `${longest}y`] } }), `enum value at properties.c is ${LIMITS.maxLiteralLength + 1} characters long; at most ${LIMITS.maxLiteralLength} are allowed`);
    expectRefused(objectOf({ c: { const: `${longest}y` } }), `const at properties.c is ${LIMITS.maxLiteralLength + 1} characters long`);
    expectRefused({ type: "object", properties: { [`${longest}y`]: { type: "string" } } }, `property name at the top level is ${LIMITS.maxLiteralLength + 1} characters long`);
    const names = LIMITS.maxLiteralCharacters / LIMITS.maxLiteralLength;
    const named = (count: number): Schema => ({
      type: "object",
      properties: Object.fromEntries(Array.from({ length: count }, (_, index) => [`${index}`.padEnd(LIMITS.maxLiteralLength, "n"), { type: "string" }])),
    });
    expectAccepted(named(names));
    expectRefused(objectOf({ a: named(names), b: { const: "z" } }), `more than ${LIMITS.maxLiteralCharacters} characters of property names, enum and const values in the schema`);
  });

  it("limits the properties of one object", () => {
    expectAccepted(objectOf(propertiesOf(LIMITS.maxProperties, () => ({ type: "string" }))));
    expectRefused(objectOf({ inner: objectOf(propertiesOf(LIMITS.maxProperties + 1, () => ({ type: "string" }))) }), `object at properties.inner has ${LIMITS.maxProperties + 1} properties; at most ${LIMITS.maxProperties} are allowed`);
  });

  it("limits $defs entries and the depth a chain of $refs can reach", () => {
    const withDefinitions = (count: number): Schema => ({ $defs: propertiesOf(count, () => ({ type: "string" }), "d"), type: "object", properties: { a: { $ref: "#/$defs/d0" } } });
    expectAccepted(withDefinitions(LIMITS.maxDefinitions));
    expectRefused(withDefinitions(LIMITS.maxDefinitions + 1), `more than ${LIMITS.maxDefinitions} $defs entries in the schema`);
    // Each definition `levels` deep (oneOfs around a $ref to the next): the chain nests them all.
    const optionsAround = (levels: number, leaf: unknown): unknown => {
      let schema = leaf;
      for (let level = 1; level < levels; level++) schema = asOption(schema);
      return schema;
    };
    const chain = (levels: number): Schema => ({
      $defs: Object.fromEntries(
        Array.from({ length: LIMITS.maxDefinitions }, (_, index) => [
          `d${index}`,
          optionsAround(levels, index === LIMITS.maxDefinitions - 1 ? { type: "string" } : { $ref: `#/$defs/d${index + 1}` }),
        ]),
      ),
      type: "object",
      properties: { a: { $ref: "#/$defs/d0" } },
    });
    // The root is 2 levels deep (an object and its $ref).
    const fitting = Math.floor((LIMITS.maxDepthThroughReferences - 2) / LIMITS.maxDefinitions);
    expectAccepted(chain(fitting));
    expectRefused(chain(fitting + 1), "$defs entries are nested", `at most ${LIMITS.maxDepthThroughReferences} are allowed`);
  });

  it("limits length and size bounds in all, counting equal string bounds once and a bound at most the cap", () => {
    const strings = (bounds: number[]): Schema => objectOf(Object.fromEntries(bounds.map((bound, index) => [`p${index}`, { type: "string", maxLength: bound }])));
    const cap = LIMITS.repetitionCountCap;
    const fitting = [cap, cap - 1, cap - 2, cap - 3];
    fitting.push(LIMITS.maxRepetitions - fitting.reduce((sum, bound) => sum + bound, 0));
    expectAccepted(strings(fitting));
    expectRefused(strings([...fitting, 1]), `length and size bounds`, `add up to more than ${LIMITS.maxRepetitions} in the schema (reached at properties.p5`);
    // The same string bounds share one rule.
    expectAccepted(strings(Array.from({ length: 500 }, () => 100)));
    // Arrays and objects repeat their own items: every bound counts.
    expectRefused(objectOf(propertiesOf(LIMITS.maxRepetitions / 100 + 1, () => ({ type: "array", items: { type: "integer" }, maxItems: 100 }))), "length and size bounds");
    // llama.cpp leaves bounds above the cap unexpanded, so they count as the cap.
    const capped = Math.floor(LIMITS.maxRepetitions / LIMITS.repetitionCountCap);
    expectAccepted(strings(Array.from({ length: capped }, (_, index) => 1_000_000 + index)));
    expectRefused(strings(Array.from({ length: capped + 1 }, (_, index) => 1_000_000 + index)), "length and size bounds");
  });

  it("shares one budget between several schemas", () => {
    const budget = new JsonSchemaBudget("the tools' parameters together");
    const half = nodesOfIntegers(LIMITS.maxNodes / 2 - 3);
    checkJsonSchemaLimits(half, "tools[0].function.parameters", budget);
    const error = caught(() => checkJsonSchemaLimits(nodesOfIntegers(LIMITS.maxNodes / 2), "tools[1].function.parameters", budget));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).param).toBe("tools[1].function.parameters");
    expect((error as Error).message).toContain(`more than ${LIMITS.maxNodes} subschemas in the tools' parameters together`);
  });

  it("stops early on a huge schema instead of walking all of it", () => {
    const huge = objectOf(propertiesOf(200, () => nodesOfIntegers(LIMITS.maxProperties)));
    const startedAt = performance.now();
    expectRefused(huge, "subschemas in the schema");
    console.log(`a schema of ~200,000 nodes refused in ${(performance.now() - startedAt).toFixed(2)} ms`);
  });
});

describe("tool schemas", () => {
  const tool = (name: string, parameters: Schema) => ({ name, parameters });

  it("are checked when tools are selected, with the tool's index in the param", () => {
    const tools = [tool("small", objectOf({ a: { type: "string" } })), tool("paint", objectOf({ color: { enum: values(64_000) } }))];
    for (const choice of ["auto", "required", { name: "paint" }] as const) {
      const error = caught(() => selectTools(tools, choice));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).param).toBe("tools[1].function.parameters");
      expect((error as Error).message).toBe(`Invalid value for 'tools[1].function.parameters': enum at properties.color has 64000 values; at most 1024 are allowed`);
    }
    // Tools that will not be used are not compiled or shown to the model.
    expect(selectTools(tools, "none")).toEqual([]);
    expect(selectTools(tools, { name: "small" })).toEqual([tools[0]]);
  });

  it("add up: all tools' parameters together stay within the limits", () => {
    const tools = Array.from({ length: 4 }, (_, index) => tool(`t${index}`, nodesOfIntegers(LIMITS.maxNodes / 4 - 2)));
    expect(selectTools(tools, "required")).toHaveLength(4);
    const oneMore = [...tools, tool("extra", objectOf({ a: { type: "string" } }))];
    const message = `more than ${LIMITS.maxNodes} subschemas in the tools' parameters together`;
    expect(() => selectTools(oneMore, "required")).toThrow(message);
    expect(() => toChatModelFunctions(oneMore)).toThrow(message);
    expect(() => forcedToolCallSchema(oneMore)).toThrow(message);
  });

  it("make a forced-call schema that is not normalised (or counted) a second time", () => {
    const tools = [tool("pick", { $defs: { color: { enum: ["red", "blue"] } }, type: "object", properties: { color: { $ref: "#/$defs/color" } } })];
    const schema = forcedToolCallSchema(tools);
    // Its $refs point into the tool's own $defs, which a second pass from the wrapper's root would refuse.
    expect(normalizeJsonSchema(schema, param)).toBe(schema);
  });
});

describe("the normaliser around the limits", () => {
  it("returns its own output unchanged", () => {
    const normalized = normalizeJsonSchema(objectOf({ a: {} }), param);
    expect(normalizeJsonSchema(normalized, param)).toBe(normalized);
  });

  it("keeps the root's $defs when the root is a $ref", () => {
    expect(normalizeJsonSchema({ $defs: { x: { type: "string" } }, $ref: "#/$defs/x" }, param)).toEqual({ $ref: "#/$defs/x", $defs: { x: { type: "string" } } });
  });

  it("refuses a const that is not a scalar (node-llama-cpp cannot build it)", () => {
    const error = caught(() => normalizeJsonSchema({ const: { a: 1 } }, param));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain("only a scalar const value is supported");
  });
});

describe("JSON nesting bound at the HTTP edge", () => {
  /** `{"type":"array","items":...}` nested `levels` deep, parsed from text (JSON.parse is iterative). */
  const deepJson = (levels: number): unknown => JSON.parse(`${'{"type":"array","items":'.repeat(levels)}{"type":"string"}${"}".repeat(levels)}`);
  const chat = (schema: unknown) => ({
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    response_format: { type: "json_schema", json_schema: { name: "s", schema } },
  });

  it("refuses a 10,000-deep response_format schema with a 400 naming the field", () => {
    const error = caught(() => parseBody(chatCompletionRequestSchema, chat(deepJson(10_000))));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).param).toBe(param);
    expect((error as Error).message).toBe(`Invalid value for '${param}': JSON nested more than ${MAX_JSON_NESTING} levels deep; at most ${MAX_JSON_NESTING} are allowed`);
    expect(() => parseBody(chatCompletionRequestSchema, chat(deepJson(MAX_JSON_NESTING - 1)))).not.toThrow();
  });

  it("bounds tool parameters, Ollama's format and Ollama's tool-call arguments too", () => {
    const deep = deepJson(10_000);
    const tools = [{ type: "function", function: { name: "f", parameters: deep } }];
    expect(() => parseBody(chatCompletionRequestSchema, { model: "m", messages: [{ role: "user", content: "hi" }], tools })).toThrow("'tools[0].function.parameters'");
    expect(() => parseBody(ollamaChatSchema, { model: "m", messages: [], format: deep })).toThrow("Invalid value for 'format': JSON nested more than");
    expect(() => parseBody(ollamaChatSchema, { model: "m", messages: [], tools })).toThrow("'tools[0].function.parameters'");
    const toolCall = { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: deep } }] };
    expect(() => parseBody(ollamaChatSchema, { model: "m", messages: [toolCall] })).toThrow("'messages[0].tool_calls[0].function.arguments'");
    expect(parseBody(ollamaChatSchema, { model: "m", messages: [], format: "json" }).format).toBe("json");
  });
});
