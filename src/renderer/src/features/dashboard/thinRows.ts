import type { ChartRow } from "./chartData.js";

/** At most this many points per line: a chart is 400–700 px wide, so more points draw no more detail (only more work). */
export const MAX_CHART_POINTS = 150;

/**
 * Fewer rows for drawing: rows are grouped by fixed time buckets (aligned on the clock, so the
 * groups do not shift as the window slides) and each group keeps its newest time and, per
 * field, its highest value (spikes and sparse points such as time to first token survive).
 */
export function thinRows(rows: ChartRow[], maxPoints = MAX_CHART_POINTS): ChartRow[] {
  if (rows.length <= maxPoints || rows.length < 2) return rows;
  const span = rows[rows.length - 1]!.time - rows[0]!.time;
  const bucketMs = Math.max(1, Math.ceil(span / (maxPoints - 1)));
  const thinned: ChartRow[] = [];
  let bucket = Number.NaN;
  for (const row of rows) {
    const rowBucket = Math.floor(row.time / bucketMs);
    const current = thinned[thinned.length - 1];
    if (rowBucket !== bucket || !current) {
      bucket = rowBucket;
      thinned.push({ ...row });
      continue;
    }
    for (const [key, value] of Object.entries(row)) {
      if (key === "time") continue;
      const kept = current[key];
      if (value !== null && (kept === null || kept === undefined || value > kept)) current[key] = value;
    }
    current.time = row.time;
  }
  return thinned;
}
