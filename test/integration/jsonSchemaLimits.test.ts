import { getLlama, LlamaGrammarEvaluationState, LlamaLogLevel, type LlamaGrammar, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JSON_SCHEMA_LIMITS as LIMITS } from "../../src/core/engine/jsonSchemaLimits.js";
import { normalizeJsonSchema } from "../../src/core/engine/jsonSchemaSubset.js";
import { forcedToolCallSchema, selectTools } from "../../src/core/engine/structuredOutput.js";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

// Oversized JSON schemas must be refused with a 400 before any grammar is built. Before the
// limits, the 64,000-value enum blocked the event loop for ~15 s (so every later request of
// this file timed out too) and the 10,000-deep schema gave a 500.

const HUGE_ENUM_SIZE = 64_000;
const DEEP_NESTING = 10_000;

function hugeEnumSchema(): Record<string, unknown> {
  return { type: "object", properties: { color: { enum: Array.from({ length: HUGE_ENUM_SIZE }, (_, index) => `color${index}`) } } };
}

/**
 * `{"type":"array","items":...}` nested `levels` deep, as JSON text: JSON.stringify itself
 * overflows the stack at about 5,000 levels.
 */
function deepSchemaJson(levels: number): string {
  return `${'{"type":"array","items":'.repeat(levels)}{"type":"string"}${"}".repeat(levels)}`;
}

describe("JSON schema limits over HTTP", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.dispose());

  async function post(path: string, body: unknown): Promise<Response> {
    return postJson(path, JSON.stringify(body));
  }
  async function postJson(path: string, json: string): Promise<Response> {
    return fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: json });
  }
  /** A chat request whose response_format schema is the given JSON text. */
  function openAiChatJson(schemaJson: string, extra = ""): string {
    return `{"model":"fixture","messages":[{"role":"user","content":"Pick a color"}]${extra},"response_format":{"type":"json_schema","json_schema":{"name":"pick","schema":${schemaJson}}}}`;
  }
  function ollamaChatJson(formatJson: string): string {
    return `{"model":"fixture","messages":[{"role":"user","content":"Pick a color"}],"stream":false,"format":${formatJson}}`;
  }

  async function expectNormalOpenAiChat(): Promise<void> {
    const response = await post("/v1/chat/completions", { model: "fixture", messages: [{ role: "user", content: "Hello" }] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
  }
  async function expectNormalOllamaChat(): Promise<void> {
    const response = await post("/api/chat", { model: "fixture", messages: [{ role: "user", content: "Hello" }], stream: false });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { message: { content: string } };
    expect(body.message.content).toBe(FIXTURE_SENTENCE);
  }

  it("/v1/chat/completions refuses a 64,000-value enum with a 400 naming the limit, then still serves", async () => {
    const response = await postJson("/v1/chat/completions", openAiChatJson(JSON.stringify(hugeEnumSchema())));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string; type: string; param: string; code: string } };
    expect(body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param: "response_format.json_schema.schema" });
    expect(body.error.message).toBe(
      `Invalid value for 'response_format.json_schema.schema': enum at properties.color has ${HUGE_ENUM_SIZE} values; at most ${LIMITS.maxAlternatives} are allowed`,
    );
    await expectNormalOpenAiChat();
  });

  it("/v1/chat/completions refuses a 10,000-deep schema with a 400, also when the answer would be cached, then still serves", async () => {
    // temperature 0 makes the answer cacheable: the router keys its cache on the whole request.
    for (const extra of ["", ',"temperature":0']) {
      const response = await postJson("/v1/chat/completions", openAiChatJson(deepSchemaJson(DEEP_NESTING), extra));
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; code: string; param: string } };
      expect(body.error).toMatchObject({ code: "invalid_value", param: "response_format.json_schema.schema" });
      expect(body.error.message).toMatch(/nested more than \d+ levels deep/);
    }
    await expectNormalOpenAiChat();
  });

  it("/v1/chat/completions refuses a schema 100 levels deep (within the JSON nesting bound) at the schema depth limit", async () => {
    const response = await postJson("/v1/chat/completions", openAiChatJson(deepSchemaJson(100)));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain(`is nested more than ${LIMITS.maxDepth} levels deep`);
    expect(body.error.message).toContain("schema at items.items.");
  });

  it("/v1/chat/completions refuses a tool whose parameters hold a 64,000-value enum, before building the prompt", async () => {
    for (const toolChoice of ["required", "auto"]) {
      const response = await post("/v1/chat/completions", {
        model: "fixture",
        messages: [{ role: "user", content: "Paint" }],
        tools: [{ type: "function", function: { name: "paint", parameters: hugeEnumSchema() } }],
        tool_choice: toolChoice,
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; param: string } };
      expect(body.error.param).toBe("tools[0].function.parameters");
      expect(body.error.message).toContain(`enum at properties.color has ${HUGE_ENUM_SIZE} values; at most ${LIMITS.maxAlternatives} are allowed`);
    }
    await expectNormalOpenAiChat();
  });

  it("Ollama /api/chat refuses both as `format` with a 400, then still serves", async () => {
    const huge = await postJson("/api/chat", ollamaChatJson(JSON.stringify(hugeEnumSchema())));
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { error: string }).error).toContain(
      `enum at properties.color has ${HUGE_ENUM_SIZE} values; at most ${LIMITS.maxAlternatives} are allowed`,
    );
    await expectNormalOllamaChat();

    const deep = await postJson("/api/chat", ollamaChatJson(deepSchemaJson(DEEP_NESTING)));
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { error: string }).error).toMatch(/nested more than \d+ levels deep/);
    await expectNormalOllamaChat();
  });

  it("a schema at the enum limit is accepted and constrains the reply", async () => {
    const colors = Array.from({ length: LIMITS.maxAlternatives }, (_, index) => `color${index}`);
    const response = await post("/v1/chat/completions", {
      model: "fixture",
      messages: [{ role: "user", content: "Pick a color" }],
      response_format: { type: "json_schema", json_schema: { name: "pick", schema: { type: "object", properties: { color: { enum: colors } }, required: ["color"] } } },
      max_tokens: 4,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    // The fixture model only knows its sentence, so a few tokens are enough to see the grammar at work.
    expect(body.choices[0]!.message.content.startsWith("{")).toBe(true);
  });
});

// ---- Grammar construction at the limits (printed, never asserted: the machine is shared) ----

type Schema = Record<string, unknown>;

const objectOf = (properties: Schema): Schema => ({ type: "object", properties, required: Object.keys(properties), additionalProperties: false });
const propertiesOf = (count: number, make: (index: number) => unknown, prefix = "p"): Schema =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index}`, make(index)]));
const enumValues = (count: number, length: number, tag: string): string[] => Array.from({ length: count }, (_, index) => `${tag}${index}`.padEnd(length, "x"));
const nestedOneOf = (levels: number, leaf: unknown): unknown => {
  let schema = leaf;
  for (let level = 0; level < levels; level++) schema = { oneOf: [schema, { type: "null" }] };
  return schema;
};
/** Distinct bounds counting down from `top`, adding up to at most `total`. */
const distinctBounds = (top: number, total: number): number[] => {
  const bounds: number[] = [];
  for (let bound = top, sum = 0; bound > 0 && sum + bound <= total; sum += bound, bound--) bounds.push(bound);
  return bounds;
};
/** An object of objects holding `leaves` copies of `leaf` (at most maxProperties per object). */
const objectsOfLeaves = (leaves: number, leaf: () => unknown): Schema => {
  const groups = Math.ceil(leaves / LIMITS.maxProperties);
  return objectOf(propertiesOf(groups, (group) => objectOf(propertiesOf(Math.min(LIMITS.maxProperties, leaves - group * LIMITS.maxProperties), leaf)), "g"));
};

/** The most expensive schemas the limits allow, one per limit, and one with every limit near its maximum. */
function worstAllowedSchemas(): Record<string, Schema> {
  const nodesLeft = (used: number): number => LIMITS.maxNodes - used;
  const anyValueNodes = 1 + 2 * LIMITS.anyValueWeight;
  const anyObjectNodes = 1 + LIMITS.anyValueWeight;
  const literalBudgetPerValue = Math.floor((LIMITS.maxLiteralCharacters - 64) / LIMITS.maxEnumValues);
  const definitionSize = Math.floor((nodesLeft(1) - 2 * LIMITS.maxDefinitions) / LIMITS.maxDefinitions);
  const chainLevels = Math.floor((LIMITS.maxDepthThroughReferences - 2) / LIMITS.maxDefinitions) - 1;
  const levelWidth = Math.floor((nodesLeft(1) - LIMITS.maxDepth) / (LIMITS.maxDepth - 1));
  let deepObjects: unknown = { type: "string" };
  for (let level = 1; level < LIMITS.maxDepth; level++) deepObjects = objectOf({ ...propertiesOf(levelWidth, () => ({ type: "number" })), next: deepObjects });
  const repetitionBounds = distinctBounds(600, LIMITS.maxRepetitions);
  const itemBounds = distinctBounds(999, LIMITS.maxRepetitions);
  return {
    [`${LIMITS.maxNodes} nodes of integers`]: objectsOfLeaves(nodesLeft(3), () => ({ type: "integer" })),
    [`${Math.floor(nodesLeft(1) / anyValueNodes)} any values ({})`]: objectOf(propertiesOf(Math.floor(nodesLeft(1) / anyValueNodes), () => ({}))),
    [`${Math.floor(nodesLeft(1) / anyObjectNodes)} any objects`]: objectOf(propertiesOf(Math.floor(nodesLeft(1) / anyObjectNodes), () => ({ type: "object" }))),
    [`${Math.floor(nodesLeft(1) / anyObjectNodes)} any arrays`]: objectOf(propertiesOf(Math.floor(nodesLeft(1) / anyObjectNodes), () => ({ type: "array" }))),
    [`${LIMITS.maxEnumValues / LIMITS.maxAlternatives} enums of ${LIMITS.maxAlternatives} x ${literalBudgetPerValue} chars`]: objectOf(
      propertiesOf(LIMITS.maxEnumValues / LIMITS.maxAlternatives, (index) => ({ enum: enumValues(LIMITS.maxAlternatives, literalBudgetPerValue, `v${index}_`) })),
    ),
    [`${LIMITS.maxEnumValues / 64} enums of 64`]: objectOf(propertiesOf(LIMITS.maxEnumValues / 64, (index) => ({ enum: enumValues(64, 8, `v${index}_`) }))),
    [`oneOf of ${LIMITS.maxAlternatives} consts`]: objectOf({ x: { oneOf: enumValues(LIMITS.maxAlternatives, 8, "c").map((value) => ({ const: value })) } }),
    [`oneOf of 16 enums of ${LIMITS.maxAlternatives / 16}`]: objectOf({ x: { oneOf: Array.from({ length: 16 }, (_, index) => ({ enum: enumValues(LIMITS.maxAlternatives / 16, 8, `v${index}_`) })) } }),
    [`oneOf of 4 $refs to enums of ${LIMITS.maxAlternatives / 4}`]: {
      $defs: propertiesOf(4, (index) => ({ enum: enumValues(LIMITS.maxAlternatives / 4, 8, `v${index}_`) }), "e"),
      ...objectOf({ x: { oneOf: Array.from({ length: 4 }, (_, index) => ({ $ref: `#/$defs/e${index}` })) } }),
    },
    [`property names of ${LIMITS.maxLiteralLength} chars`]: {
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: Math.floor(LIMITS.maxLiteralCharacters / LIMITS.maxLiteralLength) }, (_, index) => [`${index}`.padEnd(LIMITS.maxLiteralLength, "n"), { type: "string" }]),
      ),
    },
    [`${LIMITS.maxProperties} properties`]: objectOf(propertiesOf(LIMITS.maxProperties, () => ({ type: "string" }))),
    [`${repetitionBounds.length} distinct maxLength near 600`]: objectOf(Object.fromEntries(repetitionBounds.map((bound, index) => [`p${index}`, { type: "string", maxLength: bound }]))),
    [`${itemBounds.length} distinct maxItems near 1000`]: objectOf(
      Object.fromEntries(itemBounds.map((bound, index) => [`p${index}`, { type: "array", items: { type: "integer" }, maxItems: bound }])),
    ),
    [`${itemBounds.length} distinct maxProperties near 1000`]: objectOf(
      Object.fromEntries(itemBounds.map((bound, index) => [`p${index}`, { type: "object", additionalProperties: { type: "integer" }, maxProperties: bound }])),
    ),
    [`${LIMITS.maxDefinitions} $defs of ${definitionSize} nodes`]: {
      $defs: propertiesOf(LIMITS.maxDefinitions, () => objectOf(propertiesOf(definitionSize - 1, () => ({ type: "integer" }))), "d"),
      ...objectOf(propertiesOf(LIMITS.maxDefinitions, (index) => ({ $ref: `#/$defs/d${index}` }))),
    },
    [`${LIMITS.maxDefinitions} chained $defs of ${chainLevels} oneOf levels`]: {
      $defs: Object.fromEntries(
        Array.from({ length: LIMITS.maxDefinitions }, (_, index) => [
          `d${index}`,
          nestedOneOf(chainLevels, index === LIMITS.maxDefinitions - 1 ? { type: "string" } : { $ref: `#/$defs/d${index + 1}` }),
        ]),
      ),
      ...objectOf({ a: { $ref: "#/$defs/d0" } }),
    },
    [`${LIMITS.maxDepth} levels of objects of ${levelWidth + 1} properties`]: deepObjects as Schema,
    [`${LIMITS.maxDepth} levels of oneOf`]: nestedOneOf(LIMITS.maxDepth - 1, { type: "string" }) as Schema,
    "every limit near its maximum": {
      $defs: propertiesOf(LIMITS.maxDefinitions, (index) => ({ type: "string", maxLength: repetitionBounds[index] ?? 5 }), "d"),
      ...objectOf({
        ...propertiesOf(LIMITS.maxEnumValues / LIMITS.maxAlternatives, (index) => ({ enum: enumValues(LIMITS.maxAlternatives, 24, `${index}`) }), "e"),
        ...propertiesOf(LIMITS.maxDefinitions, (index) => ({ $ref: `#/$defs/d${index}` }), "r"),
        big: objectsOfLeaves(nodesLeft(2 * LIMITS.maxDefinitions + 16), () => ({ type: "integer" })),
      }),
    },
  };
}

describe("grammar construction at the limits", () => {
  let model: LlamaModel;
  beforeAll(async () => {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: await getFixtureModelPath() });
  });
  afterAll(() => model?.dispose());

  /** Median time to build the grammar (event loop) and to start generating with it (llama.cpp parses it again). */
  async function measure(schema: Schema): Promise<{ buildMs: number; startMs: number }> {
    const createGrammar = model.llama.createGrammarForJsonSchema.bind(model.llama) as unknown as (schema: Schema) => Promise<LlamaGrammar>;
    const builds: number[] = [];
    const starts: number[] = [];
    for (let run = 0; run < 3; run++) {
      let startedAt = performance.now();
      const grammar = await createGrammar(schema);
      builds.push(performance.now() - startedAt);
      startedAt = performance.now();
      new LlamaGrammarEvaluationState({ model, grammar });
      starts.push(performance.now() - startedAt);
    }
    const median = (values: number[]): number => values.sort((a, b) => a - b)[1]!;
    return { buildMs: median(builds), startMs: median(starts) };
  }

  it("accepts the worst schemas the limits allow, and prints what building their grammars costs here", async () => {
    const rows: string[] = [];
    for (const [label, schema] of Object.entries(worstAllowedSchemas())) {
      const normalized = normalizeJsonSchema(schema, "schema");
      const { buildMs, startMs } = await measure(normalized);
      rows.push(`${label.padEnd(48)} build ${buildMs.toFixed(1).padStart(6)} ms, generation start ${startMs.toFixed(1).padStart(6)} ms`);
    }
    console.log(`JSON schema grammar cost at the limits:\n${rows.join("\n")}`);
  });

  it("accepts tools adding up to the limits and prints the cost of their forced-call grammar", async () => {
    const toolCount = 128;
    const nodesPerTool = Math.floor(LIMITS.maxNodes / toolCount);
    const tools = Array.from({ length: toolCount }, (_, index) => ({
      name: `tool_${index}`,
      parameters: objectOf(propertiesOf(nodesPerTool - 1, (property) => (property === 0 ? { enum: enumValues(LIMITS.maxEnumValues / toolCount, 8, `t${index}_`) } : { type: "string" }))),
    }));
    const schema = forcedToolCallSchema(selectTools(tools, "required"));
    const { buildMs, startMs } = await measure(schema);
    console.log(`forced call over ${toolCount} tools of ${nodesPerTool} nodes: build ${buildMs.toFixed(1)} ms, generation start ${startMs.toFixed(1)} ms`);
    // One more node in all is refused, wherever it is.
    const oneTooMany = [...tools, { name: "extra", parameters: { type: "object", properties: { a: { type: "string" } } } }];
    expect(() => selectTools(oneTooMany, "required")).toThrow(`more than ${LIMITS.maxNodes} subschemas in the tools' parameters together`);
  });
});
