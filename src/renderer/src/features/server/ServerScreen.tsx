import { ErrorNotice } from "../../components/ErrorNotice.js";
import { ScreenHeader } from "../../components/ScreenHeader.js";
import { useAppStores, useServer } from "../../app/StoresContext.js";
import { ApiKeysCard } from "./ApiKeysCard.js";
import { CorsOriginsCard } from "./CorsOriginsCard.js";
import { EngineCard } from "./EngineCard.js";
import { JobsCard } from "../jobs/JobsCard.js";
import { ProvidersCard } from "./ProvidersCard.js";
import { ServerStatusCard } from "./ServerStatusCard.js";
import { SnippetsCard } from "./SnippetsCard.js";

/** Server: the local API's status, remote providers, keys, CORS origins, how to call it, and its llama.cpp engine. */
export function ServerScreen() {
  const { server } = useAppStores();
  const error = useServer((state) => state.error);
  const status = useServer((state) => state.status);
  return (
    <div className="screen">
      <ScreenHeader title="Server" subtitle="The OpenAI- and Ollama-compatible API on this machine." />
      <ErrorNotice message={error} onDismiss={() => server.getState().clearError()} testId="server-error" />
      {!status ? (
        <p className="muted">Reading the server's status…</p>
      ) : (
        <>
          <ServerStatusCard status={status} />
          <ProvidersCard />
          <JobsCard />
          <SnippetsCard status={status} />
          <ApiKeysCard />
          <CorsOriginsCard status={status} />
          <EngineCard />
        </>
      )}
    </div>
  );
}
