/** How one free sequence relates to a prompt, for {@link chooseSequence}. */
export interface SequenceCandidate {
  /** Tokens the sequence holds in its KV cache now. */
  cachedTokens: number;
  /** Leading tokens of the prompt that the cache already holds (its longest common prefix). */
  sharedPrefix: number;
}

/** Length of the longest common prefix of two token lists. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const length = Math.min(a.length, b.length);
  let index = 0;
  while (index < length && a[index] === b[index]) index++;
  return index;
}

/**
 * Whether continuing from a cache keeps more tokens than it throws away. A cache that shares
 * only a chat template's preamble with the prompt belongs to another conversation, which is
 * worth more alive than the few tokens it would save.
 */
export function isWorthContinuing(candidate: SequenceCandidate): boolean {
  return candidate.sharedPrefix > 0 && candidate.sharedPrefix > candidate.cachedTokens - candidate.sharedPrefix;
}

/**
 * Which free sequence a prompt should use, given the candidates least recently used first:
 * the one worth continuing (see {@link isWorthContinuing}) with the longest shared prefix;
 * else an empty one; else the least recently used, so a hot conversation's cache survives.
 * Ties go to the least recently used. Returns an index into `candidates` (0 when it is empty).
 */
export function chooseSequence(candidates: readonly SequenceCandidate[]): number {
  let best = -1;
  for (const [index, candidate] of candidates.entries()) {
    if (!isWorthContinuing(candidate)) continue;
    if (best < 0 || candidate.sharedPrefix > candidates[best]!.sharedPrefix) best = index;
  }
  if (best >= 0) return best;
  const empty = candidates.findIndex((candidate) => candidate.cachedTokens === 0);
  return empty >= 0 ? empty : 0;
}
