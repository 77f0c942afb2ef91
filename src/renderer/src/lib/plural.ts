const englishPlurals = new Intl.PluralRules("en");

/**
 * The noun that goes with a count: `pluralize(1, "message")` → "message", `pluralize(2, "message")` → "messages".
 * English rules via Intl.PluralRules ("one" only for exactly 1); irregular plurals are passed in.
 */
export function pluralize(count: number, singular: string, plural = `${singular}s`): string {
  return englishPlurals.select(count) === "one" ? singular : plural;
}

/**
 * A count with its noun: `countOf(1, "message")` → "1 message", `countOf(1234, "token")` → "1,234 tokens".
 * @param formatNumber how the number is written; default `toLocaleString()`.
 */
export function countOf(count: number, singular: string, plural?: string, formatNumber: (count: number) => string = (value) => value.toLocaleString()): string {
  return `${formatNumber(count)} ${pluralize(count, singular, plural)}`;
}
