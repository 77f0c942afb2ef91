import { useState } from "react";
import type { HubSearchSort } from "../../../../shared/api/hub.js";
import { Card } from "../../components/Card.js";
import { useAppStores, useModels } from "../../app/StoresContext.js";
import { formatCount, formatDate } from "../../lib/format.js";
import { HubRepoFiles } from "./HubRepoFiles.js";
import { HubTokenField } from "./HubTokenField.js";

const SORTS: Array<{ value: HubSearchSort; label: string }> = [
  { value: "downloads", label: "Most downloads" },
  { value: "likes", label: "Most likes" },
  { value: "updated", label: "Recently updated" },
];

/** Search Hugging Face for GGUF repositories, then pick a file of one. */
export function HubBrowser() {
  const { models } = useAppStores();
  const hub = useModels((state) => state.hub);
  const [query, setQuery] = useState(hub.query);
  return (
    <Card title="Find models on Hugging Face" testId="hub-browser">
      <form
        className="inline-form"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          void models.getState().searchHub(query);
        }}
      >
        <label className="field field-grow">
          <span className="field-label">Search</span>
          <input type="search" placeholder="e.g. qwen, llama, phi" value={query} onChange={(event) => setQuery(event.target.value)} data-testid="hub-query" />
        </label>
        <label className="field">
          <span className="field-label">Sort by</span>
          <select value={hub.sort} onChange={(event) => void models.getState().setHubSort(event.target.value as HubSearchSort)} data-testid="hub-sort">
            {SORTS.map((sort) => (
              <option key={sort.value} value={sort.value}>
                {sort.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button button-primary" disabled={hub.searching}>
          {hub.searching ? "Searching…" : "Search"}
        </button>
      </form>
      <HubTokenField />
      {hub.searchError && (
        <p className="notice notice-error" role="alert">
          {hub.searchError}
        </p>
      )}
      {hub.results !== null && !hub.searchError && (
        hub.results.length === 0 ? (
          <p className="empty">No GGUF repositories match “{hub.query}”.</p>
        ) : (
          <ul className="hub-results" data-testid="hub-results" aria-label="Search results">
            {hub.results.map((result) => (
              <li key={result.repo} className={result.repo === hub.repo ? "hub-result hub-result-open" : "hub-result"} data-testid="hub-result" data-repo={result.repo}>
                <div className="hub-result-main">
                  <span className="hub-repo">{result.repo}</span>
                  <span className="muted">
                    ↓ {formatCount(result.downloads)} · ♥ {formatCount(result.likes)} · updated {formatDate(result.updatedAt)}
                    {result.gated && " · gated (needs a Hugging Face token)"}
                  </span>
                </div>
                <button
                  type="button"
                  className="button button-small"
                  aria-expanded={result.repo === hub.repo}
                  onClick={() => (result.repo === hub.repo ? models.getState().closeRepo() : void models.getState().openRepo(result.repo))}
                >
                  {result.repo === hub.repo ? "Hide files" : "Show files"}
                </button>
                {result.repo === hub.repo && <HubRepoFiles />}
              </li>
            ))}
          </ul>
        )
      )}
    </Card>
  );
}
