import type { JsonSchema } from "../../shared/api/generation.js";
import { InvalidArgumentError } from "../errors.js";
import { checkJsonSchemaLimits, type JsonSchemaBudget } from "./jsonSchemaLimits.js";

/** Keywords that only annotate; they never change which documents are valid. */
const ANNOTATIONS = new Set(["title", "description", "$schema", "$id", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly", "strict"]);
const SCALAR_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const KEYWORDS_BY_TYPE: Record<string, Set<string>> = {
  string: new Set(["type", "minLength", "maxLength", "format"]),
  number: new Set(["type"]),
  integer: new Set(["type"]),
  boolean: new Set(["type"]),
  null: new Set(["type"]),
  object: new Set(["type", "properties", "required", "additionalProperties", "minProperties", "maxProperties", "$defs"]),
  array: new Set(["type", "items", "prefixItems", "minItems", "maxItems", "$defs"]),
};
const STRING_FORMATS = new Set(["date-time", "date", "time"]);

/** Any JSON value, spelled in the subset node-llama-cpp's grammar builder understands. */
const ANY_VALUE: JsonSchema = {
  oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "object", additionalProperties: true }, { type: "array" }],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Schemas this module produced, or that were assembled from its output (the forced tool
 * call's wrapper): normalising one again returns it unchanged, so its parts, already checked
 * against the limits, are not counted twice.
 */
const normalizedSchemas = new WeakSet<object>();

/** Records that `schema` is made of normalised parts only, so {@link normalizeJsonSchema} passes it through. */
export function markNormalizedJsonSchema(schema: JsonSchema): JsonSchema {
  normalizedSchemas.add(schema);
  return schema;
}

/**
 * Checks a client's JSON Schema against the subset node-llama-cpp turns into a grammar, and
 * rewrites the equivalent spellings it does not know (`anyOf`, `{}` for any value, an object
 * with no properties meaning any object). node-llama-cpp silently degrades what it does not
 * understand (an `anyOf` becomes `null`), so anything else is refused with a 400 that names
 * the keyword, instead of generating output that does not match the schema.
 * The schema's size is checked first ({@link checkJsonSchemaLimits}), which also keeps this
 * recursive walk shallow; pass one `budget` for all tool schemas of a request.
 */
export function normalizeJsonSchema(schema: unknown, param: string, budget?: JsonSchemaBudget): JsonSchema {
  if (isObject(schema) && normalizedSchemas.has(schema)) return schema;
  checkJsonSchemaLimits(schema, param, budget);
  const definitions = isObject(schema) && isObject(schema.$defs) ? new Set(Object.keys(schema.$defs)) : new Set<string>();
  const fail = (path: string, message: string): never => {
    throw new InvalidArgumentError(`${param}${path}: ${message}`, param);
  };

  const walk = (node: unknown, path: string): JsonSchema => {
    if (node === true) return ANY_VALUE;
    if (!isObject(node)) return fail(path, "a schema must be an object");
    const keys = Object.keys(node).filter((key) => !ANNOTATIONS.has(key));
    const annotations = typeof node.description === "string" ? { description: node.description } : {};
    if (keys.length === 0) return ANY_VALUE;
    if ("$ref" in node) {
      const match = typeof node.$ref === "string" ? /^#\/(\$defs|definitions)\/(.+)$/.exec(node.$ref) : null;
      if (!match || !definitions.has(match[2]!)) return fail(path, `'$ref' must point to an entry of the root '$defs'`);
      return { $ref: `#/$defs/${match[2]}`, ...annotations };
    }
    if ("const" in node) {
      if (typeof node.const === "object" && node.const !== null) return fail(`${path}.const`, "only a scalar const value is supported");
      return { const: node.const as JsonSchema[string], ...annotations };
    }
    if ("enum" in node) {
      if (!Array.isArray(node.enum) || node.enum.length === 0) return fail(path, "'enum' must be a non-empty array");
      if (node.enum.some((value) => typeof value === "object" && value !== null)) return fail(`${path}.enum`, "only scalar enum values are supported");
      return { enum: node.enum, ...annotations };
    }
    for (const combinator of ["oneOf", "anyOf"] as const) {
      if (combinator in node) {
        const options = node[combinator];
        if (!Array.isArray(options) || options.length === 0) return fail(path, `'${combinator}' must be a non-empty array`);
        // For generation, "one of" and "any of" allow the same documents to be produced.
        return { oneOf: options.map((option, index) => walk(option, `${path}.${combinator}[${index}]`)), ...annotations };
      }
    }
    const type = node.type;
    if (Array.isArray(type)) {
      if (type.length === 0 || type.some((entry) => typeof entry !== "string" || !SCALAR_TYPES.has(entry))) {
        return fail(`${path}.type`, "a list of types may only hold string, number, integer, boolean and null");
      }
      const extra = keys.filter((key) => key !== "type");
      if (extra.length > 0) return fail(path, `'${extra[0]}' is not supported with a list of types`);
      return { type, ...annotations };
    }
    if (typeof type !== "string" || !KEYWORDS_BY_TYPE[type]) {
      return fail(path, `unsupported schema: expected 'type' (string, number, integer, boolean, null, object, array), 'enum', 'const', 'oneOf', 'anyOf' or '$ref'`);
    }
    const unsupported = keys.find((key) => !KEYWORDS_BY_TYPE[type]!.has(key));
    if (unsupported) return fail(path, `the keyword '${unsupported}' is not supported for structured output`);
    const result: JsonSchema = { ...node };
    for (const key of ANNOTATIONS) if (key !== "description") delete result[key];
    if (type === "string" && node.format !== undefined && !STRING_FORMATS.has(String(node.format))) {
      return fail(`${path}.format`, "only the formats date-time, date and time are supported");
    }
    if (type === "object") {
      if (node.properties !== undefined) {
        if (!isObject(node.properties)) return fail(`${path}.properties`, "must be an object");
        result.properties = Object.fromEntries(
          Object.entries(node.properties).map(([name, value]) => [name, walk(value, `${path}.properties.${name}`)]),
        );
      }
      if (isObject(node.additionalProperties)) result.additionalProperties = walk(node.additionalProperties, `${path}.additionalProperties`);
      // JSON Schema's default is "any other property"; with no properties listed, keep that meaning.
      else if (node.additionalProperties === undefined && node.properties === undefined) result.additionalProperties = true;
    }
    if (type === "array") {
      if (node.items !== undefined) result.items = walk(node.items, `${path}.items`);
      if (Array.isArray(node.prefixItems)) result.prefixItems = node.prefixItems.map((item, index) => walk(item, `${path}.prefixItems[${index}]`));
    }
    if (isObject(node.$defs)) result.$defs = walkDefinitions(node.$defs, path);
    return result;
  };
  const walkDefinitions = (defs: Record<string, unknown>, path: string): JsonSchema =>
    Object.fromEntries(Object.entries(defs).map(([name, value]) => [name, walk(value, `${path}.$defs.${name}`)]));

  const result = walk(schema, "");
  // A root that is a $ref, oneOf, ... still needs its definitions for the $refs inside it.
  if (isObject(schema) && isObject(schema.$defs) && result.$defs === undefined && result !== ANY_VALUE) {
    result.$defs = walkDefinitions(schema.$defs, "");
  }
  normalizedSchemas.add(result);
  return result;
}
