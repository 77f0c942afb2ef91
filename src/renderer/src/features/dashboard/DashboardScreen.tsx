import { useMemo } from "react";
import { ScreenHeader } from "../../components/ScreenHeader.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { useDashboard } from "../../app/StoresContext.js";
import { formatBytes, formatMs, formatRate } from "../../lib/format.js";
import { modelIds, modelMemory, peak, toChartRows } from "./chartData.js";
import { MetricChart, type ChartSeries } from "./MetricChart.js";
import { StatTile } from "./StatTile.js";
import { UsageCard } from "./UsageCard.js";

const MODEL_COLORS = ["var(--chart-1)", "var(--chart-2)", "var(--chart-3)", "var(--chart-4)", "var(--chart-5)"];

/** Live charts of the machine and the engine, one sample a second over the last 5 minutes; usage and cost per provider. */
export function DashboardScreen() {
  const samples = useDashboard((state) => state.samples);
  const loaded = useDashboard((state) => state.loaded);
  const error = useDashboard((state) => state.error);
  const rows = useMemo(() => toChartRows(samples), [samples]);
  const models = useMemo(() => modelIds(samples), [samples]);
  const latest = samples[samples.length - 1];
  const gpu = latest?.gpu ?? null;
  const decodePeak = peak(samples, (sample) => sample.decodeTokensPerSecond);
  const promptPeak = peak(samples, (sample) => sample.promptTokensPerSecond);
  const memory = modelMemory(latest);
  const lastTtft = [...samples].reverse().find((sample) => sample.timeToFirstTokenMs !== null)?.timeToFirstTokenMs ?? null;

  return (
    <div className="screen">
      <ScreenHeader title="Dashboard" subtitle="Live, one sample a second, over the last 5 minutes." />
      <ErrorNotice message={error} />
      {!latest ? (
        <p className="muted" data-testid="dashboard-waiting">
          {loaded ? "Waiting for the first sample…" : "Loading…"}
        </p>
      ) : (
        <>
          <div className="stat-grid">
            <StatTile label="CPU" value={`${Math.round(latest.cpuPercent)}%`} detail="all cores" testId="stat-cpu" />
            <StatTile label="RAM" value={formatBytes(latest.ramUsedBytes)} detail={`of ${formatBytes(latest.ramTotalBytes)} · app ${formatBytes(latest.processRssBytes)}`} testId="stat-ram" />
            <StatTile label="Decode tokens/s" value={formatRate(latest.decodeTokensPerSecond)} detail={`peak ${formatRate(decodePeak)} in 5 min`} testId="stat-decode" />
            <StatTile label="Peak decode tokens/s" value={formatRate(decodePeak)} detail="last 5 minutes" testId="stat-decode-peak" />
            <StatTile label="Prompt tokens/s" value={formatRate(latest.promptTokensPerSecond)} detail={`peak ${formatRate(promptPeak)}`} testId="stat-prompt" />
            <StatTile label="Time to first token" value={formatMs(lastTtft)} detail="latest generation, from the engine taking it" testId="stat-ttft" />
            <StatTile label="Requests" value={`${latest.activeRequests} active`} detail={`${latest.queuedRequests} queued`} testId="stat-requests" />
            <StatTile label="GPU" value={gpu ? gpu.name : "None"} detail={gpu ? `${formatBytes(gpu.vramUsedBytes)} of ${formatBytes(gpu.vramTotalBytes)} VRAM` : "running on CPU"} testId="stat-gpu" />
            <StatTile
              label="Model memory"
              value={memory.length === 0 ? "None loaded" : formatBytes(memory.reduce((total, model) => total + model.memoryBytes, 0))}
              detail={
                memory.length === 0
                  ? "weights + context of loaded models"
                  : memory.map((model, index) => (
                      <span key={model.id} data-testid="model-memory-item" data-model-id={model.id}>
                        {index > 0 && " · "}
                        {model.id} {formatBytes(model.memoryBytes)}
                      </span>
                    ))
              }
              testId="stat-model-memory"
            />
          </div>
          <div className="chart-grid">
            <MetricChart title="CPU" unit="%" yMax={100} rows={rows} series={[{ key: "cpu", label: "CPU %", color: "var(--chart-1)" }]} testId="chart-cpu" />
            <MetricChart
              title="Memory (GB)"
              unit="GB"
              rows={rows}
              series={[
                { key: "ramUsed", label: "RAM used", color: "var(--chart-2)" },
                { key: "ramTotal", label: "RAM total", color: "var(--text-muted)", dashed: true },
                { key: "processRss", label: "App", color: "var(--chart-3)" },
              ]}
              testId="chart-ram"
            />
            {gpu ? (
              <>
                <MetricChart title={`GPU utilization · ${gpu.name}`} unit="%" yMax={100} rows={rows} series={[{ key: "gpuUtil", label: "GPU %", color: "var(--chart-4)" }]} testId="chart-gpu" />
                <MetricChart
                  title="VRAM (GB)"
                  unit="GB"
                  rows={rows}
                  series={[
                    { key: "vramUsed", label: "VRAM used", color: "var(--chart-5)" },
                    { key: "vramTotal", label: "VRAM total", color: "var(--text-muted)", dashed: true },
                  ]}
                  testId="chart-vram"
                />
              </>
            ) : (
              <div className="chart chart-placeholder" data-testid="no-gpu">
                <p className="chart-placeholder-title">No GPU detected — running on CPU</p>
                <p className="muted small">GPU utilization and VRAM appear here when llama.cpp finds a CUDA, Vulkan or Metal device.</p>
              </div>
            )}
            <MetricChart
              title="Tokens per second"
              unit="tok/s"
              rows={rows}
              series={[
                { key: "decode", label: "Decode", color: "var(--chart-1)" },
                { key: "prompt", label: "Prompt", color: "var(--chart-3)" },
              ]}
              testId="chart-tokens"
            />
            <MetricChart title="Time to first token (ms)" unit="ms" rows={rows} series={[{ key: "ttft", label: "TTFT", color: "var(--chart-4)", dots: true }]} testId="chart-ttft" />
            <MetricChart
              title="Requests"
              unit=""
              rows={rows}
              series={[
                { key: "active", label: "Active", color: "var(--chart-2)" },
                { key: "queued", label: "Queued", color: "var(--chart-5)" },
              ]}
              testId="chart-requests"
            />
            {models.length > 0 ? (
              <MetricChart
                title="Memory per loaded model (MB)"
                unit="MB"
                rows={rows}
                series={models.map((id, index): ChartSeries => ({ key: `model:${id}`, label: id, color: MODEL_COLORS[index % MODEL_COLORS.length]! }))}
                testId="chart-models"
              />
            ) : (
              <div className="chart chart-placeholder" data-testid="no-models-loaded">
                <p className="chart-placeholder-title">No model loaded</p>
                <p className="muted small">Memory per model appears here once a model is in memory.</p>
              </div>
            )}
          </div>
        </>
      )}
      <UsageCard />
    </div>
  );
}
