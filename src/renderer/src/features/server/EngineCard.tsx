import { Badge } from "../../components/Badge.js";
import { Card } from "../../components/Card.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { ProgressBar } from "../../components/ProgressBar.js";
import { useAppStores, useEngine } from "../../app/StoresContext.js";
import { describeEngine, isBuildRunning } from "./engineStore.js";

/** Which llama.cpp build runs, and the button that compiles one for this machine (with its progress). */
export function EngineCard() {
  const { engine } = useAppStores();
  const status = useEngine((state) => state.status);
  const build = useEngine((state) => state.build);
  const busy = useEngine((state) => state.busy);
  const error = useEngine((state) => state.error);
  if (!status) return null;
  const running = isBuildRunning(build);
  const current = status.current;
  return (
    <Card
      title="Engine"
      testId="engine-card"
      actions={
        <Badge tone={current.kind === "local" ? "success" : "neutral"} testId="engine-kind">
          {current.kind === "local" ? "local build" : "prebuilt"}
        </Badge>
      }
    >
      <ErrorNotice message={error} onDismiss={() => engine.getState().clearError()} testId="engine-error" />
      <p data-testid="engine-line">{describeEngine(current)}</p>
      {current.fallbackReason && (
        <p className="muted small" data-testid="engine-fallback">
          Not using the local build: {current.fallbackReason}
        </p>
      )}
      <p className="muted small">
        A build for this machine uses its CPU&apos;s own instructions and OpenMP threads (and CUDA or Vulkan when their toolchain and a GPU are
        found). It compiles offline from the source node-llama-cpp ships, in several minutes. It is not faster on every machine: compare the
        dashboard&apos;s tokens/s before and after, and go back with <code>marduk-local engine reset</code>.
      </p>
      <ul className="muted small" data-testid="engine-toolchains">
        {status.toolchains.map((toolchain) => (
          <li key={toolchain.gpu}>
            {toolchain.gpu.toUpperCase()}: {toolchain.detail}
          </li>
        ))}
      </ul>
      {build && (
        <div data-testid="engine-build" data-phase={build.phase}>
          <ProgressBar
            value={build.phase === "starting" ? undefined : build.percent / 100}
            label="llama.cpp build progress"
            tone={build.phase === "failed" ? "danger" : build.phase === "cancelled" ? "warning" : "accent"}
            testId="engine-build-progress"
          />
          <p className="small" data-testid="engine-build-message">
            {Math.floor(build.percent)}% · {build.phase}
            {build.phase === "compiling" && build.step !== undefined ? ` ${build.step}/${build.steps}` : ""} · {build.message}
          </p>
          {build.error && (
            <p className="small" role="alert" data-testid="engine-build-error">
              {build.error}
            </p>
          )}
        </div>
      )}
      {status.restartNeeded && !running && (
        <p className="small" data-testid="engine-restart-note">
          The new build is used when llama.cpp starts again: by models loaded from now on (each runs in a process of its own), and by everything
          after a restart of the server. Models already loaded keep their build until they are unloaded.
        </p>
      )}
      <div className="row">
        {running ? (
          <button type="button" className="button button-danger" onClick={() => void engine.getState().cancelBuild()} data-testid="engine-cancel">
            Cancel build
          </button>
        ) : (
          <button
            type="button"
            className="button button-primary"
            disabled={busy || !status.canBuild}
            title={status.canBuild ? undefined : status.cannotBuildReason}
            onClick={() => void engine.getState().startBuild()}
            data-testid="engine-build-button"
          >
            {status.localBuild ? "Rebuild for this machine" : "Build for this machine"}
          </button>
        )}
        {!status.canBuild && <span className="muted small">{status.cannotBuildReason}</span>}
      </div>
    </Card>
  );
}
