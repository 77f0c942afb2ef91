const UNITS = ["B", "KB", "MB", "GB", "TB"] as const;

/** 1536 → "1.5 KB" (decimal units, as disks and the hub count). */
export function formatBytes(bytes: number | undefined | null): string {
  if (bytes === undefined || bytes === null || !Number.isFinite(bytes)) return "—";
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** Bytes per second → "2.4 MB/s". */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds → "42 s", "3 min 5 s", "1 h 2 min". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${total % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** 1234567 → "1.2M", 12345 → "12.3K". */
export function formatCount(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  if (value >= 1e9) return `${(value / 1e9).toFixed(1)}B`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}K`;
  return String(Math.round(value));
}

/** Tokens per second with one decimal below 100. */
export function formatRate(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "—";
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** Milliseconds → "850 ms" or "1.25 s". */
export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** ms since the epoch → local date and time. */
export function formatDateTime(time: number | string | undefined): string {
  if (time === undefined) return "—";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString();
}

/** ms since the epoch or an ISO time → local date. */
export function formatDate(time: number | string | undefined): string {
  if (time === undefined) return "—";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleDateString();
}

/** Share 0–1 → "42%". */
export function formatPercent(share: number): string {
  return `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%`;
}

/** US dollars: "$0", "$12.34", small amounts to two significant digits ("$0.0042"), "<$0.000001" below that. */
export function formatUsd(amount: number | undefined | null): string {
  if (amount === undefined || amount === null || !Number.isFinite(amount)) return "—";
  if (amount === 0) return "$0";
  const absolute = Math.abs(amount);
  if (absolute < 0.000001) return "<$0.000001";
  const digits = absolute >= 1 ? 2 : Math.max(2, 1 - Math.floor(Math.log10(absolute)));
  return `${amount < 0 ? "-" : ""}$${absolute.toFixed(digits)}`;
}
