import { z } from "zod";
import type { GenerationOptions } from "../../shared/api/generation.js";
import { InvalidArgumentError } from "../errors.js";

/** Defaults applied to every generation; documented on {@link GenerationOptions}. */
export const GENERATION_DEFAULTS = {
  temperature: 0.8,
  topP: 0.95,
  topK: 40,
  minP: 0.05,
  repeatPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  ignoreEos: false,
} as const;

export const MAX_STOP_STRINGS = 16;

const generationOptionsSchema = z
  .object({
    maxTokens: z.number().int().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().min(0).max(1).optional(),
    topK: z.number().int().min(0).optional(),
    minP: z.number().min(0).max(1).optional(),
    repeatPenalty: z.number().min(0).max(10).optional(),
    presencePenalty: z.number().min(-2).max(2).optional(),
    frequencyPenalty: z.number().min(-2).max(2).optional(),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    stop: z.array(z.string().min(1).max(256)).max(MAX_STOP_STRINGS).optional(),
    ignoreEos: z.boolean().optional(),
    speculative: z.boolean().optional(),
  })
  .strict();

export type ResolvedGenerationOptions = Omit<GenerationOptions, keyof typeof GENERATION_DEFAULTS | "stop"> & {
  -readonly [K in keyof typeof GENERATION_DEFAULTS]: (typeof GENERATION_DEFAULTS)[K] extends boolean ? boolean : number;
} & { stop: string[] };

/**
 * Validates generation options and fills in the defaults.
 * @throws InvalidArgumentError naming the first bad option.
 */
export function resolveGenerationOptions(input: unknown = {}): ResolvedGenerationOptions {
  const parsed = generationOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.map(String).join(".") || undefined;
    throw new InvalidArgumentError(`Invalid option${param ? ` '${param}'` : ""}: ${issue.message}`, param);
  }
  return { ...GENERATION_DEFAULTS, ...parsed.data, stop: parsed.data.stop ?? [] };
}
