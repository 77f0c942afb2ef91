import { z } from "zod";
import { MEMORY_COLLECTION_NAME, MEMORY_LIMITS } from "../../storage/MemoryStore.js";

/** Bodies of the memory API (`/v1/memory/...`); the store checks the same bounds again. */
const text = z.string().min(1).max(MEMORY_LIMITS.maxTextChars);
const itemId = z.string().min(1).max(MEMORY_LIMITS.maxIdChars);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const collectionNameSchema = z.string().regex(MEMORY_COLLECTION_NAME, "must be 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit");

export const createCollectionSchema = z.object({
  name: collectionNameSchema,
  /** The embedding model of its texts and queries. */
  model: z.string().min(1).max(256),
  /** Fixed vector size; default: the model's, learnt from the first items. */
  dimensions: z.number().int().min(1).max(MEMORY_LIMITS.maxDimensions).optional(),
});

export const addItemsSchema = z.object({
  items: z
    .array(z.object({ id: itemId.optional(), text, metadata: z.record(z.string(), z.unknown()).optional() }))
    .min(1)
    .max(MEMORY_LIMITS.maxItemsPerAdd),
});

export const searchSchema = z.object({
  query: text,
  /** Default: 10. */
  k: z.number().int().min(1).max(MEMORY_LIMITS.maxK).optional(),
  filter: z
    .record(z.string(), scalar)
    .refine((filter) => Object.keys(filter).length <= MEMORY_LIMITS.maxFilterKeys, `may have at most ${MEMORY_LIMITS.maxFilterKeys} keys`)
    .optional(),
});

export const deleteItemsSchema = z.object({ ids: z.array(itemId).min(1).max(MEMORY_LIMITS.maxIdsPerDelete) });
