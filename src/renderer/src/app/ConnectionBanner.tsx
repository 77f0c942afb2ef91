import { useEffect, useState } from "react";
import { useConnection, useConnectionControls } from "./StoresContext.js";

function useSecondsUntil(time: number | undefined): number | undefined {
  // Re-render a few times a second while a retry is scheduled.
  const [, setTick] = useState(0);
  useEffect(() => {
    if (time === undefined) return;
    const timer = setInterval(() => setTick((tick) => tick + 1), 250);
    return () => clearInterval(timer);
  }, [time]);
  return time === undefined ? undefined : Math.max(0, Math.ceil((time - Date.now()) / 1000));
}

/** A banner across the top while the server cannot be reached. */
export function ConnectionBanner() {
  const status = useConnection((state) => state.status);
  const failures = useConnection((state) => state.failures);
  const retryAt = useConnection((state) => state.retryAt);
  const wasConnected = useConnection((state) => state.wasConnected);
  const { retryNow } = useConnectionControls();
  const seconds = useSecondsUntil(retryAt);
  if (status !== "reconnecting" && !(status === "connecting" && failures > 0)) return null;
  return (
    <div className="connection-banner" role="status" data-testid="connection-banner">
      <strong>{wasConnected ? "Disconnected from Marduk Local." : "Cannot reach Marduk Local."}</strong>{" "}
      {seconds !== undefined ? `Reconnecting in ${seconds} s…` : "Reconnecting…"}
      <button type="button" className="button button-small" onClick={retryNow}>
        Retry now
      </button>
    </div>
  );
}
