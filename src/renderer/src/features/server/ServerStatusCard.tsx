import { useState } from "react";
import type { ServerStatus } from "../../../../shared/contract/index.js";
import { Badge } from "../../components/Badge.js";
import { Card } from "../../components/Card.js";
import { CopyButton } from "../../components/CopyButton.js";
import { useAppStores, useConnection, useServer } from "../../app/StoresContext.js";

/** Running or not, where, and (desktop app only) start and stop. */
export function ServerStatusCard({ status }: { status: ServerStatus }) {
  const { server } = useAppStores();
  const busy = useServer((state) => state.busy);
  // While the UI cannot reach the app, the last status may be stale.
  const reachable = useConnection((state) => state.status === "connected");
  const [host, setHost] = useState(status.host);
  const [port, setPort] = useState(String(status.port));
  const desktop = status.mode === "desktop";
  return (
    <Card
      title="Status"
      testId="server-status"
      actions={
        <Badge tone={!reachable ? "warning" : status.running ? "success" : "neutral"} testId="server-running">
          {!reachable ? "unreachable" : status.running ? "running" : "stopped"}
        </Badge>
      }
    >
      <dl className="facts">
        <dt>Address</dt>
        <dd className="row">
          {status.url ? (
            <>
              <code data-testid="server-url">{status.url}</code>
              <CopyButton text={status.url} label="Copy server URL" />
            </>
          ) : (
            "—"
          )}
        </dd>
        <dt>Host</dt>
        <dd>{status.host}</dd>
        <dt>Port</dt>
        <dd>{status.port}</dd>
        <dt>API key</dt>
        <dd>{status.requiresApiKey ? "required for every request" : "not required (listening on this machine only)"}</dd>
        <dt>Mode</dt>
        <dd data-testid="server-mode">{desktop ? "desktop app" : "headless (marduk-local serve)"}</dd>
      </dl>
      {desktop ? (
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (status.running) void server.getState().stop();
            else void server.getState().start({ host: host.trim() || undefined, port: port.trim() ? Number(port) : undefined });
          }}
        >
          <label className="field">
            <span className="field-label">Host</span>
            <input type="text" value={host} onChange={(event) => setHost(event.target.value)} disabled={status.running} />
          </label>
          <label className="field">
            <span className="field-label">Port</span>
            <input type="number" min={0} max={65535} value={port} onChange={(event) => setPort(event.target.value)} disabled={status.running} />
          </label>
          <button type="submit" className={status.running ? "button button-danger" : "button button-primary"} disabled={busy}>
            {status.running ? "Stop server" : "Start server"}
          </button>
        </form>
      ) : (
        <p className="muted" data-testid="headless-note">
          This page is served by the running <code>marduk-local serve</code> process, so the server cannot be stopped from here: stop it where it
          runs (Ctrl-C), and change its host and port with <code>--host</code> and <code>--port</code>.
        </p>
      )}
    </Card>
  );
}
