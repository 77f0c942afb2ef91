import { memo, useMemo, useRef } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ChartRow } from "./chartData.js";
import { DASHBOARD_WINDOW_MS } from "./dashboardStore.js";
import { usePausedWhileHidden } from "./usePausedWhileHidden.js";
import { thinRows } from "./thinRows.js";
import { useThrottledValue } from "./useThrottledValue.js";

/** How often a chart redraws at most (samples come every second; the tiles above show each one). */
export const CHART_REDRAW_MS = 10_000;

export interface ChartSeries {
  key: string;
  label: string;
  /** A CSS colour (variables allowed). */
  color: string;
  dashed?: boolean;
  /** Draw each point (sparse series such as time to first token). */
  dots?: boolean;
}

interface MetricChartProps {
  title: string;
  rows: ChartRow[];
  series: ChartSeries[];
  unit: string;
  /** Fixed top of the Y axis (e.g. 100 for percentages). */
  yMax?: number;
  testId?: string;
}

const timeLabel = (time: number): string => new Date(time).toLocaleTimeString([], { minute: "2-digit", second: "2-digit" });

const MINUTE_MS = 60_000;

/** One X tick per whole minute in the window: given, so recharts does not measure every label's text to avoid overlaps each second. */
function minuteTicks(newest: number): number[] {
  const ticks: number[] = [];
  for (let tick = Math.ceil((newest - DASHBOARD_WINDOW_MS) / MINUTE_MS) * MINUTE_MS; tick <= newest; tick += MINUTE_MS) ticks.push(tick);
  return ticks;
}

/**
 * A line chart over the last 5 minutes. It redraws every second, so it is kept cheap: no
 * animation, given X ticks and `interval={0}` (recharts' default tick thinning measures the
 * text of every label on each redraw: most of the dashboard's CPU time), stable line accessors,
 * at most one redraw per {@link CHART_REDRAW_MS}, none while the page is hidden or the chart
 * is scrolled out of view, at most
 * MAX_CHART_POINTS points per line (see thinRows.ts), and the chart
 * itself memoized (a new sample that is not drawn yet re-renders nothing).
 */
export const MetricChart = memo(function MetricChart({ title, rows: liveRows, series, unit, yMax, testId }: MetricChartProps) {
  const figure = useRef<HTMLElement>(null);
  const shownRows = usePausedWhileHidden(useThrottledValue(liveRows, CHART_REDRAW_MS), figure);
  const rows = useMemo(() => thinRows(shownRows), [shownRows]);
  const newest = rows[rows.length - 1]?.time ?? Date.now();
  const xTicks = useMemo(() => minuteTicks(newest), [newest]);
  // One accessor per line for the chart's life (keys may hold dots, which a string dataKey would read as a path).
  const accessors = useMemo(() => new Map(series.map((line) => [line.key, (row: ChartRow) => row[line.key] ?? null])), [series.map((line) => line.key).join("\n")]);
  // The screen passes new (equal) series arrays on every sample: compare them by content.
  const seriesKey = JSON.stringify(series);
  const chart = useMemo(
    () => (
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
            <XAxis
              dataKey="time"
              type="number"
              scale="time"
              domain={[newest - DASHBOARD_WINDOW_MS, newest]}
              ticks={xTicks}
              interval={0}
              tickFormatter={timeLabel}
              stroke="var(--text-muted)"
              fontSize={11}
            />
            <YAxis stroke="var(--text-muted)" fontSize={11} width={44} domain={[0, yMax ?? "auto"]} allowDecimals interval={0} />
            <Tooltip
              isAnimationActive={false}
              labelFormatter={(label) => timeLabel(Number(label))}
              formatter={(value) => `${String(value)} ${unit}`}
              contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 8, color: "var(--text)" }}
            />
            {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
            {series.map((line) => (
              <Line
                key={line.key}
                type="monotone"
                dataKey={accessors.get(line.key)!}
                name={line.label}
                stroke={line.color}
                strokeWidth={2}
                strokeDasharray={line.dashed ? "4 4" : undefined}
                dot={line.dots ? { r: 2.5, strokeWidth: 0, fill: line.color } : false}
                isAnimationActive={false}
                connectNulls={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
    ),
    // series is compared by content (seriesKey).
    [rows, newest, xTicks, accessors, seriesKey, unit, yMax],
  );
  return (
    <figure className="chart" data-testid={testId} ref={figure}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-body">{chart}</div>
    </figure>
  );
});
