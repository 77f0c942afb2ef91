import { memo } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ChartRow } from "./chartData.js";
import { DASHBOARD_WINDOW_MS } from "./dashboardStore.js";

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

/** A line chart over the last 5 minutes (no animation: it updates every second). */
export const MetricChart = memo(function MetricChart({ title, rows, series, unit, yMax, testId }: MetricChartProps) {
  const newest = rows[rows.length - 1]?.time ?? Date.now();
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption className="chart-title">{title}</figcaption>
      <div className="chart-body">
        <ResponsiveContainer width="100%" height={180}>
          <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" vertical={false} />
            <XAxis
              dataKey="time"
              type="number"
              scale="time"
              domain={[newest - DASHBOARD_WINDOW_MS, newest]}
              tickFormatter={timeLabel}
              stroke="var(--text-muted)"
              fontSize={11}
              tickCount={6}
            />
            <YAxis stroke="var(--text-muted)" fontSize={11} width={44} domain={[0, yMax ?? "auto"]} allowDecimals />
            <Tooltip
              labelFormatter={(label) => timeLabel(Number(label))}
              formatter={(value) => `${String(value)} ${unit}`}
              contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 8, color: "var(--text)" }}
            />
            {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
            {series.map((line) => (
              <Line
                key={line.key}
                type="monotone"
                dataKey={(row: ChartRow) => row[line.key] ?? null}
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
      </div>
    </figure>
  );
});
