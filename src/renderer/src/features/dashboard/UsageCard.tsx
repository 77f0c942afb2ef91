import { useEffect, useMemo } from "react";
import { Card } from "../../components/Card.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { useAppStores, useDashboard } from "../../app/StoresContext.js";
import { formatCount, formatPercent, formatUsd } from "../../lib/format.js";
import { countOf } from "../../lib/plural.js";
import { StatTile } from "./StatTile.js";
import { providerLabel, usageByProvider } from "./usageData.js";

/** Requests, tokens, errors and cost per provider, and what serving on this machine saved; read every few seconds while shown. */
export function UsageCard() {
  const { dashboard } = useAppStores();
  const usage = useDashboard((state) => state.usage);
  const error = useDashboard((state) => state.usageError);
  const rows = useMemo(() => usageByProvider(usage?.rows ?? []), [usage]);
  useEffect(() => dashboard.getState().watchUsage(), [dashboard]);

  return (
    <Card title="Usage & cost" testId="usage">
      <ErrorNotice message={error} testId="usage-error" />
      {!usage ? (
        <p className="muted">Reading the usage ledger…</p>
      ) : (
        <>
          <div className="stat-grid">
            <StatTile label="Total cost" value={formatUsd(usage.costUsd)} detail="at each provider's price" testId="usage-cost" />
            <StatTile label="Saved by serving locally" value={formatUsd(usage.savedUsd)} detail={`${formatPercent(usage.savedShare)} of the would-be bill`} testId="usage-saved" />
            <StatTile
              label="Served on this machine"
              value={formatPercent(usage.localShare)}
              detail={`${formatCount(usage.localRequests)} of ${countOf(usage.requests, "request", undefined, formatCount)}`}
              testId="usage-local-share"
            />
          </div>
          {rows.length === 0 ? (
            <p className="empty" data-testid="no-usage">
              No requests yet.
            </p>
          ) : (
            <div className="table-wrap">
              <table className="table table-compact" data-testid="usage-table">
                <thead>
                  <tr>
                    <th scope="col">Provider</th>
                    <th scope="col">Requests</th>
                    <th scope="col">Errors</th>
                    <th scope="col">Prompt tokens</th>
                    <th scope="col">Generated tokens</th>
                    <th scope="col">Cost</th>
                    <th scope="col">Saved</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row) => (
                    <tr key={row.provider} data-testid="usage-row" data-provider={row.provider}>
                      <th scope="row">{providerLabel(row.provider)}</th>
                      <td data-testid="usage-requests">{formatCount(row.requests)}</td>
                      <td>{formatCount(row.errors)}</td>
                      <td>{formatCount(row.promptTokens)}</td>
                      <td>{formatCount(row.completionTokens)}</td>
                      <td data-testid="usage-row-cost">{formatUsd(row.costUsd)}</td>
                      <td>{formatUsd(row.savedUsd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Card>
  );
}
