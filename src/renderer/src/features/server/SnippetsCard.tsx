import { useState } from "react";
import type { ServerStatus } from "../../../../shared/contract/index.js";
import { Card } from "../../components/Card.js";
import { CopyButton } from "../../components/CopyButton.js";
import { useModels } from "../../app/StoresContext.js";
import { pickDefaultModel } from "../models/modelChoice.js";
import { buildSnippets, openAiBaseUrl, type Snippet } from "./snippets.js";

/** curl, JavaScript and Python examples with this server's base URL. */
export function SnippetsCard({ status }: { status: ServerStatus }) {
  const library = useModels((state) => state.library);
  const loaded = useModels((state) => state.loaded);
  const [tab, setTab] = useState<Snippet["id"]>("curl");
  const serverUrl = status.url ?? (typeof window !== "undefined" ? window.location.origin : "http://127.0.0.1:11435");
  const snippets = buildSnippets({ serverUrl, modelId: pickDefaultModel(library, loaded) ?? "MODEL_ID", requiresApiKey: status.requiresApiKey });
  const current = snippets.find((snippet) => snippet.id === tab) ?? snippets[0]!;
  return (
    <Card title="Use the API" testId="snippets">
      <p className="row">
        <span>OpenAI base URL:</span>
        <code data-testid="base-url">{openAiBaseUrl(serverUrl)}</code>
        <CopyButton text={openAiBaseUrl(serverUrl)} label="Copy base URL" />
      </p>
      <div className="tabs" role="tablist" aria-label="Examples">
        {snippets.map((snippet) => (
          <button
            key={snippet.id}
            type="button"
            role="tab"
            id={`snippet-tab-${snippet.id}`}
            aria-selected={snippet.id === current.id}
            aria-controls="snippet-panel"
            className={snippet.id === current.id ? "tab tab-active" : "tab"}
            onClick={() => setTab(snippet.id)}
          >
            {snippet.label}
          </button>
        ))}
      </div>
      <div className="snippet" role="tabpanel" id="snippet-panel" aria-labelledby={`snippet-tab-${current.id}`}>
        <div className="snippet-copy">
          <CopyButton text={current.code} label={`Copy ${current.label} example`} testId="copy-snippet" />
        </div>
        <pre>
          <code data-testid="snippet-code">{current.code}</code>
        </pre>
      </div>
    </Card>
  );
}
