import { InvalidArgumentError } from "../errors.js";

/*
 * Why these limits exist: node-llama-cpp 3.21.1 builds a grammar from a JSON schema
 * synchronously, blocking the event loop of the process that hosts the model, and parts of
 * that work (its JS generator, and llama.cpp's grammar parser, which runs again when
 * generation starts) grow with the square of the alternatives offered at one position. A
 * 64,000-value enum blocked the server for ~15 s; 300,000 values froze it for over 12
 * minutes. So a schema's size is checked here, before any grammar is built, in one
 * iterative pass that is linear in the schema and stops at the first limit exceeded.
 *
 * Measured with `llama.createGrammarForJsonSchema` on the shared 2-core build machine (Xeon,
 * CPU backend; "busy" = load ~3-5 while another CI run used it):
 *   enum of 1,024 short strings ~4 ms; 4,096: ~44 ms; 8,192: ~112 ms (quadratic)
 *   4,096 alternatives at one position (oneOf of 64 enums of 64, or of $refs to enums): 60-90 ms busy
 *   10,000 plain nodes: ~50-68 ms quiet, ~170 ms busy (~7 µs a node quiet)
 *   any JSON value: an object without properties ~6 plain nodes, an array without items ~4, `{}` ~20
 *   1,024 enum values of 1,024 characters: ~27 ms (~25 ns a literal character)
 *   maxLength/maxItems/maxProperties: llama.cpp expands `{0,n}` into n nested rules, so 1,000
 *     distinct bounds up to 1,000 took ~780 ms to build and ~680 ms more when generation
 *     started; it leaves counts above 2,000 unexpanded (cheap, and not enforced)
 *   1,000 chained $defs: ~320 ms (quadratic in definitions); $ref chains 4,096 levels deep
 *     overflow node-llama-cpp's recursion, 1,024 levels build in ~40 ms
 * At the limits below, with the machine busy (test/integration/jsonSchemaLimits.test.ts prints
 * these): the worst single-limit shape builds in 2-36 ms (+0-6 ms at generation start),
 * every limit at once in 26-43 ms (+6-10 ms), a forced call over 128 tools in ~23 ms (+3 ms).
 */

/** Limits on a client's JSON schema (and on all tool schemas of one request together). */
export const JSON_SCHEMA_LIMITS = {
  /** Nesting levels of subschemas (the root is level 1). Real schemas use a handful; keeps every recursive walk shallow. */
  maxDepth: 64,
  /**
   * Subschemas in a schema, or in all tool schemas of a request together (they become one
   * grammar). Each place that accepts any JSON value counts `anyValueWeight` more, since
   * node-llama-cpp builds a whole JSON grammar there. 17-36 ms busy at the limit.
   */
  maxNodes: 2048,
  /**
   * Extra weight of a place node-llama-cpp fills with a grammar for any JSON value: an object
   * without properties (~6 plain nodes), an array without items (~4), and twice for `{}` or
   * `true`, which become a oneOf of any scalar, any object and any array (~20).
   */
  anyValueWeight: 8,
  /**
   * Alternatives one enum, oneOf or anyOf may offer, counting those of nested oneOf, anyOf,
   * enum, type lists and $ref targets (they are all alternatives at the same position).
   */
  maxAlternatives: 1024,
  /** Enum and const values in a schema (or all tool schemas) together. ~7 ms at the limit. */
  maxEnumValues: 2048,
  /** Characters of one enum value, const or property name. */
  maxLiteralLength: 1024,
  /** Characters of all enum values, consts and property names together. */
  maxLiteralCharacters: 65_536,
  /** Properties of one object. */
  maxProperties: 1024,
  /** Entries of `$defs` in a schema (or all tool schemas); node-llama-cpp's cost grows with nodes × definitions. */
  maxDefinitions: 128,
  /**
   * Levels a chain of $refs may nest, bounded by adding up the depth of every definition
   * (a chain passes through each definition at most once).
   */
  maxDepthThroughReferences: 1024,
  /**
   * Sum of the length and size bounds (minLength, maxLength, minItems, maxItems,
   * minProperties, maxProperties): llama.cpp expands a bounded repetition into one rule per
   * step. Equal string bounds share one rule and count once. ~4 ms, and ~3 ms more when
   * generation starts, at the limit.
   */
  maxRepetitions: 8192,
  /** Largest amount one bound counts for: llama.cpp does not expand repetitions above it. */
  repetitionCountCap: 2000,
} as const;

const LIMITS = JSON_SCHEMA_LIMITS;

/**
 * Totals that several schemas of one request share: all tools' parameters end up in one
 * grammar (forced calls) or one function-calling grammar, so their sizes add up.
 */
export class JsonSchemaBudget {
  nodes = 0;
  enumValues = 0;
  literalCharacters = 0;
  definitions = 0;
  repetitions = 0;
  /** `min:max` of the string bounds already counted (node-llama-cpp shares their rule). */
  readonly stringBounds = new Set<string>();

  /** @param subject How messages name what the totals cover. Default: "the schema". */
  constructor(readonly subject = "the schema") {}
}

/** Keywords that only annotate; the normaliser drops them, so they are not walked. */
const ANNOTATIONS = new Set(["title", "description", "$schema", "$id", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly", "strict"]);
const REFERENCE = /^#\/(?:\$defs|definitions)\/(.+)$/;
const MAX_PATH_CHARACTERS = 200;

/** What a node offers at its position: one thing, or alternatives (counted by `checkAlternatives`). */
type Kind = "plain" | "alternatives" | "enum" | "typeList" | "reference";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function boundValue(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? Math.max(0, Math.floor(value)) : 0;
}

interface Pending {
  node: unknown;
  parent: number;
  segment: string;
  depth: number;
  /** 0 for the root schema, 1 + index for an entry of the root `$defs`. */
  body: number;
  /** The oneOf/anyOf this node is an option of, or -1. */
  optionOf: number;
  /** The name of the root `$defs` entry this node is. */
  definition?: string;
}

/**
 * Checks a client's JSON schema against {@link JSON_SCHEMA_LIMITS} before any grammar is
 * built, adding its size to `budget` (share one budget between the tool schemas of a request).
 * Iterative and linear in the schema: a schema nested 10,000 levels deep is refused, not a stack overflow.
 * @throws InvalidArgumentError naming `param`, the limit and where it was exceeded, e.g.
 *   "Invalid value for 'response_format.json_schema.schema': enum at properties.color has 64000 values; at most 1024 are allowed".
 */
export function checkJsonSchemaLimits(schema: unknown, param: string, budget: JsonSchemaBudget = new JsonSchemaBudget()): void {
  // Per visited node, by visit order: enough to name its path and to count alternatives afterwards.
  const parents: number[] = [];
  const segments: string[] = [];
  const kinds: Kind[] = [];
  const ownAlternatives: number[] = [];
  const options: number[][] = [];
  const referenceTargets: (string | undefined)[] = [];
  const combinators = new Map<number, string>();
  const definitionNodes = new Map<string, number>();
  const bodyBaseDepths: number[] = [1];
  const bodyHeights: number[] = [0];
  let hasReferences = false;

  const pathOf = (index: number): string => {
    const parts: string[] = [];
    for (let at = index; at > 0; at = parents[at]!) parts.push(segments[at]!);
    const path = parts.reverse().reduce((text, part) => (part.startsWith("[") || text === "" ? text + part : `${text}.${part}`), "");
    if (path === "") return "the top level";
    return path.length <= MAX_PATH_CHARACTERS ? path : `${path.slice(0, 80)}…${path.slice(-(MAX_PATH_CHARACTERS - 80))}`;
  };
  const fail = (message: string): never => {
    throw new InvalidArgumentError(`Invalid value for '${param}': ${message}`, param);
  };
  const addNodes = (index: number, weight: number): void => {
    budget.nodes += weight;
    if (budget.nodes > LIMITS.maxNodes) {
      fail(
        `more than ${LIMITS.maxNodes} subschemas in ${budget.subject} (reached at ${pathOf(index)}; ` +
          `each place that accepts any JSON value counts ${LIMITS.anyValueWeight} more); at most ${LIMITS.maxNodes} are allowed`,
      );
    }
  };
  const addLiteral = (index: number, value: unknown, what: string): void => {
    const length = typeof value === "string" ? value.length : typeof value === "number" ? String(value).length : 0;
    if (length > LIMITS.maxLiteralLength) fail(`${what} at ${pathOf(index)} is ${length} characters long; at most ${LIMITS.maxLiteralLength} are allowed`);
    budget.literalCharacters += length;
    if (budget.literalCharacters > LIMITS.maxLiteralCharacters) {
      fail(
        `more than ${LIMITS.maxLiteralCharacters} characters of property names, enum and const values in ${budget.subject} ` +
          `(reached at ${pathOf(index)}); at most ${LIMITS.maxLiteralCharacters} are allowed`,
      );
    }
  };
  const addEnumValues = (index: number, count: number): void => {
    budget.enumValues += count;
    if (budget.enumValues > LIMITS.maxEnumValues) {
      fail(`more than ${LIMITS.maxEnumValues} enum and const values in ${budget.subject} (reached at ${pathOf(index)}); at most ${LIMITS.maxEnumValues} are allowed`);
    }
  };
  const addBounds = (index: number, node: Record<string, unknown>, minKey: string, maxKey: string): void => {
    if (node[minKey] === undefined && node[maxKey] === undefined) return;
    const min = boundValue(node[minKey]);
    const max = node[maxKey] === undefined ? undefined : boundValue(node[maxKey]);
    if (minKey === "minLength") {
      const key = `${min}:${max ?? ""}`;
      if (budget.stringBounds.has(key)) return;
      budget.stringBounds.add(key);
    }
    budget.repetitions += Math.min(Math.max(min, max ?? 0), LIMITS.repetitionCountCap);
    if (budget.repetitions > LIMITS.maxRepetitions) {
      fail(
        `length and size bounds (minLength, maxLength, minItems, maxItems, minProperties, maxProperties) add up to more than ` +
          `${LIMITS.maxRepetitions} in ${budget.subject} (reached at ${pathOf(index)}; a bound counts at most ${LIMITS.repetitionCountCap}, ` +
          `equal string bounds once); at most ${LIMITS.maxRepetitions} are allowed`,
      );
    }
  };

  const pending: Pending[] = [{ node: schema, parent: -1, segment: "", depth: 1, body: 0, optionOf: -1 }];
  // Children are pushed in reverse so that they are visited (and reported) in document order.
  const pushAll = (children: Pending[]): void => {
    for (let at = children.length - 1; at >= 0; at--) pending.push(children[at]!);
  };

  while (pending.length > 0) {
    const { node, parent, segment, depth, body, optionOf, definition } = pending.pop()!;
    const index = kinds.length;
    parents.push(parent);
    segments.push(segment);
    kinds.push("plain");
    ownAlternatives.push(1);
    options.push([]);
    referenceTargets.push(undefined);
    if (optionOf >= 0) options[optionOf]!.push(index);
    if (definition !== undefined) definitionNodes.set(definition, index);
    if (depth > LIMITS.maxDepth) fail(`schema at ${pathOf(index)} is nested more than ${LIMITS.maxDepth} levels deep; at most ${LIMITS.maxDepth} are allowed`);
    bodyHeights[body] = Math.max(bodyHeights[body]!, depth - bodyBaseDepths[body]! + 1);

    const children: Pending[] = [];
    const child = (value: unknown, childSegment: string, asOption = false): void => {
      children.push({ node: value, parent: index, segment: childSegment, depth: depth + 1, body, optionOf: asOption ? index : -1 });
    };
    const anyValue = node === true || (isObject(node) && Object.keys(node).every((key) => ANNOTATIONS.has(key)));
    if (anyValue) {
      addNodes(index, 1 + 2 * LIMITS.anyValueWeight);
    } else if (isObject(node)) {
      addNodes(index, 1);
      // The same precedence as the normaliser, so exactly what it keeps is counted.
      if ("$ref" in node) {
        const match = typeof node.$ref === "string" ? REFERENCE.exec(node.$ref) : null;
        kinds[index] = "reference";
        referenceTargets[index] = match?.[1];
        hasReferences = true;
      } else if ("const" in node) {
        addEnumValues(index, 1);
        addLiteral(index, node.const, "const");
      } else if ("enum" in node) {
        if (Array.isArray(node.enum)) {
          if (node.enum.length > LIMITS.maxAlternatives) fail(`enum at ${pathOf(index)} has ${node.enum.length} values; at most ${LIMITS.maxAlternatives} are allowed`);
          kinds[index] = "enum";
          ownAlternatives[index] = node.enum.length;
          addEnumValues(index, node.enum.length);
          for (const value of node.enum) addLiteral(index, value, "enum value");
        }
      } else if ("oneOf" in node || "anyOf" in node) {
        const combinator = "oneOf" in node ? "oneOf" : "anyOf";
        const list = node[combinator];
        if (Array.isArray(list)) {
          if (list.length > LIMITS.maxAlternatives) fail(`${combinator} at ${pathOf(index)} has ${list.length} options; at most ${LIMITS.maxAlternatives} are allowed`);
          kinds[index] = "alternatives";
          combinators.set(index, combinator);
          list.forEach((option, at) => child(option, `${combinator}[${at}]`, true));
        }
      } else if (Array.isArray(node.type)) {
        kinds[index] = "typeList";
        ownAlternatives[index] = Math.max(1, node.type.length);
      } else if (node.type === "string") {
        addBounds(index, node, "minLength", "maxLength");
      } else if (node.type === "object") {
        const properties = node.properties;
        if (isObject(properties)) {
          const names = Object.keys(properties);
          if (names.length > LIMITS.maxProperties) fail(`object at ${pathOf(index)} has ${names.length} properties; at most ${LIMITS.maxProperties} are allowed`);
          for (const name of names) addLiteral(index, name, "property name");
          for (const name of names) child(properties[name], `properties.${name}`);
        }
        if (isObject(node.additionalProperties)) child(node.additionalProperties, "additionalProperties");
        else if (node.additionalProperties === true || (node.additionalProperties === undefined && properties === undefined)) addNodes(index, LIMITS.anyValueWeight);
        addBounds(index, node, "minProperties", "maxProperties");
      } else if (node.type === "array") {
        if (node.items === undefined) addNodes(index, LIMITS.anyValueWeight);
        else child(node.items, "items");
        if (Array.isArray(node.prefixItems)) node.prefixItems.forEach((item, at) => child(item, `prefixItems[${at}]`));
        addBounds(index, node, "minItems", "maxItems");
      }
      const typed = node.type === "object" || node.type === "array";
      if (isObject(node.$defs) && (typed || index === 0)) {
        for (const [name, definitionSchema] of Object.entries(node.$defs)) {
          budget.definitions++;
          if (budget.definitions > LIMITS.maxDefinitions) {
            fail(`more than ${LIMITS.maxDefinitions} $defs entries in ${budget.subject} (reached at ${pathOf(index)}); at most ${LIMITS.maxDefinitions} are allowed`);
          }
          if (index === 0) {
            // Only the root's definitions can be referenced; each is its own body for the $ref chain bound.
            bodyBaseDepths.push(depth + 1);
            bodyHeights.push(0);
            children.push({ node: definitionSchema, parent: index, segment: `$defs.${name}`, depth: depth + 1, body: bodyHeights.length - 1, optionOf: -1, definition: name });
          } else {
            child(definitionSchema, `$defs.${name}`);
          }
        }
      }
    } else {
      addNodes(index, 1);
    }
    pushAll(children);
  }

  if (hasReferences) {
    const nesting = bodyHeights.reduce((sum, height) => sum + height, 0);
    if (nesting > LIMITS.maxDepthThroughReferences) {
      fail(
        `the root and its $defs entries are nested ${nesting} levels deep added up (a chain of $refs may pass through each of them); ` +
          `at most ${LIMITS.maxDepthThroughReferences} are allowed`,
      );
    }
  }
  checkAlternatives(kinds, ownAlternatives, options, referenceTargets, definitionNodes, (index) =>
    fail(
      `${combinators.get(index) ?? "$ref"} at ${pathOf(index)} offers more than ${LIMITS.maxAlternatives} alternatives ` +
        `once its nested oneOf, anyOf, enum, type lists and $refs are counted; at most ${LIMITS.maxAlternatives} are allowed`,
    ),
  );
}

/**
 * Counts the alternatives each oneOf/anyOf and $ref offers at its position (a sum over its
 * options, following $refs to their definitions), iteratively and once per node. A cycle at
 * the leading position (left recursion, which llama.cpp refuses anyway) counts as one.
 */
function checkAlternatives(
  kinds: readonly Kind[],
  ownAlternatives: readonly number[],
  options: readonly number[][],
  referenceTargets: readonly (string | undefined)[],
  definitionNodes: ReadonlyMap<string, number>,
  onExceeded: (index: number) => never,
): void {
  const UNKNOWN = -1;
  const IN_PROGRESS = -2;
  const counts = new Array<number>(kinds.length).fill(UNKNOWN);
  const isComposite = (index: number): boolean => kinds[index] === "alternatives" || kinds[index] === "reference";
  const successorsOf = (index: number): readonly number[] => {
    if (kinds[index] === "alternatives") return options[index]!;
    const target = referenceTargets[index] === undefined ? undefined : definitionNodes.get(referenceTargets[index]);
    return target === undefined ? [] : [target];
  };
  const countOf = (index: number): number => {
    if (!isComposite(index)) return ownAlternatives[index]!;
    return counts[index] === IN_PROGRESS ? 1 : counts[index]!;
  };

  for (let start = 0; start < kinds.length; start++) {
    if (!isComposite(start) || counts[start] !== UNKNOWN) continue;
    const stack: Array<{ index: number; next: number }> = [{ index: start, next: 0 }];
    counts[start] = IN_PROGRESS;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const successors = successorsOf(top.index);
      if (top.next < successors.length) {
        const successor = successors[top.next++]!;
        if (isComposite(successor) && counts[successor] === UNKNOWN) {
          counts[successor] = IN_PROGRESS;
          stack.push({ index: successor, next: 0 });
        }
        continue;
      }
      stack.pop();
      let total = kinds[top.index] === "reference" && successors.length === 0 ? 1 : 0;
      // Saturate just above the limit: through $refs the products could grow without bound.
      for (const successor of successors) total = Math.min(total + countOf(successor), JSON_SCHEMA_LIMITS.maxAlternatives + 1);
      counts[top.index] = total;
      if (total > JSON_SCHEMA_LIMITS.maxAlternatives) onExceeded(top.index);
    }
  }
}
