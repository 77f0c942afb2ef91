import { createStore, type StoreApi } from "zustand/vanilla";
import type { MardukApi, ProviderInfo, SaveProviderRequest, Unsubscribe } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";
import { errorParam } from "../../lib/fieldErrors.js";
import type { BadgeTone } from "../../components/Badge.js";

/** The provider form as typed: every field is text until it is saved. */
export interface ProviderForm {
  id: string;
  baseUrl: string;
  /** Blank while editing keeps the stored key. */
  apiKey: string;
  /** While editing: remove the stored key (the API key field is ignored). */
  removeApiKey: boolean;
  /** Comma-separated; blank: discovered from the provider's `/v1/models`. */
  models: string;
  /** US dollars per million prompt tokens; blank: free. */
  priceInput: string;
  /** US dollars per million generated tokens; blank: free. */
  priceOutput: string;
  /** Blank: the router's default. */
  maxConcurrency: string;
}

export type ProviderFormField = Exclude<keyof ProviderForm, "removeApiKey">;

/** Messages shown next to the form's fields. */
export type ProviderFieldErrors = Partial<Record<ProviderFormField, string>>;

export const EMPTY_PROVIDER_FORM: ProviderForm = { id: "", baseUrl: "", apiKey: "", removeApiKey: false, models: "", priceInput: "", priceOutput: "", maxConcurrency: "" };

/** The outcome of "Test connection". */
export type ProviderTestOutcome = { ok: true; models: string[]; latencyMs: number } | { ok: false; message: string };

/** The form filled in with a saved provider's settings (its key is never known here: left blank). */
export function providerFormFrom(provider: ProviderInfo): ProviderForm {
  return {
    id: provider.id,
    baseUrl: provider.baseUrl,
    apiKey: "",
    removeApiKey: false,
    models: provider.models?.join(", ") ?? "",
    priceInput: provider.price ? String(provider.price.input) : "",
    priceOutput: provider.price ? String(provider.price.output) : "",
    maxConcurrency: provider.maxConcurrency !== undefined ? String(provider.maxConcurrency) : "",
  };
}

/** "a, b,,c " → ["a", "b", "c"] (no duplicates). */
export function parseModelList(text: string): string[] {
  return [...new Set(text.split(",").map((model) => model.trim()).filter(Boolean))];
}

/**
 * The request a form saves or tests, or the fields that are wrong before anything is sent
 * (the core checks the rest and names the field in its error). While editing, a blank key
 * keeps the stored one.
 */
export function providerRequestFromForm(form: ProviderForm, editing: boolean): { request: SaveProviderRequest } | { fieldErrors: ProviderFieldErrors } {
  const fieldErrors: ProviderFieldErrors = {};
  const id = form.id.trim();
  const baseUrl = form.baseUrl.trim();
  if (!id) fieldErrors.id = "Give the provider an id, e.g. openai or gpu-box.";
  if (!baseUrl) fieldErrors.baseUrl = "Enter the base URL of its OpenAI API, e.g. http://10.0.0.2:8000/v1.";
  else if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) fieldErrors.baseUrl = "Must be an http(s) URL, e.g. https://api.openai.com/v1.";
  const price = (text: string, field: "priceInput" | "priceOutput"): number | undefined => {
    if (text.trim() === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) fieldErrors[field] = "A price in US dollars, 0 or more.";
    return value;
  };
  const input = price(form.priceInput, "priceInput");
  const output = price(form.priceOutput, "priceOutput");
  let maxConcurrency: number | undefined;
  if (form.maxConcurrency.trim() !== "") {
    maxConcurrency = Number(form.maxConcurrency);
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) fieldErrors.maxConcurrency = "A whole number of requests, 1 or more.";
  }
  if (Object.keys(fieldErrors).length > 0) return { fieldErrors };

  const models = parseModelList(form.models);
  const apiKey = editing && form.removeApiKey ? "" : form.apiKey.trim();
  const request: SaveProviderRequest = {
    id,
    baseUrl,
    // A blank key while editing is left out: the core keeps the stored one.
    ...(apiKey || (editing && form.removeApiKey) ? { apiKey } : {}),
    ...(models.length > 0 ? { models } : {}),
    ...(input !== undefined || output !== undefined ? { price: { input: input ?? 0, output: output ?? 0 } } : {}),
    ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
  };
  return { request };
}

/** The form field a core error's `param` names ("price.input" → priceInput), if any. */
export function formFieldOfParam(param: string | undefined): ProviderFormField | undefined {
  if (!param) return undefined;
  // Errors from the config checks name the field inside the provider ("providers[0].baseUrl").
  const path = param.replace(/^providers(\[\d+\]|\.[^.]+)\./, "");
  if (path === "id" || path === "baseUrl" || path === "apiKey" || path === "maxConcurrency") return path;
  if (path === "models" || path.startsWith("models[")) return "models";
  if (path === "price.output") return "priceOutput";
  if (path === "price" || path === "price.input") return "priceInput";
  return undefined;
}

/** How a provider's health reads in a badge. */
export function providerHealthLabel(provider: ProviderInfo): { label: string; tone: BadgeTone } {
  const health = provider.health;
  if (!health || (health.checkedAt === undefined && !health.lastError && health.circuit === "closed")) return { label: "checking…", tone: "neutral" };
  if (health.circuit === "open") return { label: "circuit open", tone: "danger" };
  if (health.circuit === "half-open") return { label: "half-open", tone: "warning" };
  if (health.healthy) return { label: "healthy", tone: "success" };
  return { label: "unreachable", tone: "danger" };
}

/** The models a provider serves: as discovered, else as configured. */
export function providerModels(provider: ProviderInfo): string[] {
  return provider.health?.models.length ? provider.health.models : (provider.models ?? []);
}

export interface ProvidersState {
  /** Every remote provider, in the core's order. */
  providers: ProviderInfo[];
  loaded: boolean;
  /** A failure outside the form (listing, removing). */
  error: string | null;
  /** Errors shown next to the form's fields. */
  fieldErrors: ProviderFieldErrors;
  /** A form failure that is about no field in particular. */
  formError: string | null;
  saving: boolean;
  testing: boolean;
  /** The last "Test connection" of the form; cleared when the form changes. */
  testOutcome: ProviderTestOutcome | null;
  /** Id of the provider being removed. */
  removing: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  /** Saves the form (`editing`: it changes a saved provider); true when saved. */
  save(form: ProviderForm, editing: boolean): Promise<boolean>;
  /** Tries the form's settings without saving them. */
  test(form: ProviderForm, editing: boolean): Promise<void>;
  remove(id: string): Promise<boolean>;
  /** Clears the form's errors and test outcome (the form was opened, changed or closed). */
  resetForm(): void;
  clearError(): void;
}

export type ProvidersStore = StoreApi<ProvidersState>;

/** The providers feature: remote OpenAI-compatible servers the router sends requests to. */
export function createProvidersStore(api: MardukApi): ProvidersStore {
  let unsubscribe: Unsubscribe | undefined;
  let testSerial = 0;

  return createStore<ProvidersState>()((set, get) => {
    /** Puts a core error next to its field, or above the form. */
    const showFormError = (error: unknown): void => {
      const field = formFieldOfParam(errorParam(error));
      if (field) set({ fieldErrors: { ...get().fieldErrors, [field]: errorMessage(error) } });
      else set({ formError: errorMessage(error) });
    };

    return {
      providers: [],
      loaded: false,
      error: null,
      fieldErrors: {},
      formError: null,
      saving: false,
      testing: false,
      testOutcome: null,
      removing: null,

      async init() {
        unsubscribe ??= api.providers.onChanged((providers) => set({ providers, loaded: true }));
        await get().refresh();
      },

      dispose() {
        unsubscribe?.();
        unsubscribe = undefined;
      },

      async refresh() {
        try {
          set({ providers: await api.providers.list(), loaded: true });
        } catch (error) {
          set({ loaded: true, error: errorMessage(error) });
        }
      },

      async save(form, editing) {
        const parsed = providerRequestFromForm(form, editing);
        if ("fieldErrors" in parsed) {
          set({ fieldErrors: parsed.fieldErrors, formError: null });
          return false;
        }
        set({ saving: true, fieldErrors: {}, formError: null });
        try {
          const saved = await api.providers.save(parsed.request);
          const providers = get().providers;
          const index = providers.findIndex((provider) => provider.id === saved.id);
          set({ providers: index < 0 ? [...providers, saved] : providers.map((provider, at) => (at === index ? saved : provider)), testOutcome: null });
          return true;
        } catch (error) {
          showFormError(error);
          return false;
        } finally {
          set({ saving: false });
        }
      },

      async test(form, editing) {
        const parsed = providerRequestFromForm(form, editing);
        if ("fieldErrors" in parsed) {
          set({ fieldErrors: parsed.fieldErrors, formError: null, testOutcome: null });
          return;
        }
        const serial = ++testSerial;
        set({ testing: true, fieldErrors: {}, formError: null, testOutcome: null });
        try {
          const result = await api.providers.test(parsed.request);
          if (serial === testSerial) set({ testOutcome: { ok: true, models: result.models, latencyMs: result.latencyMs } });
        } catch (error) {
          if (serial !== testSerial) return;
          // A bad field goes next to it; anything else (unreachable, 401, ...) is the test's outcome.
          if (formFieldOfParam(errorParam(error))) showFormError(error);
          else set({ testOutcome: { ok: false, message: errorMessage(error) } });
        } finally {
          if (serial === testSerial) set({ testing: false });
        }
      },

      async remove(id) {
        set({ removing: id, error: null });
        try {
          await api.providers.remove({ id });
          set({ providers: get().providers.filter((provider) => provider.id !== id) });
          return true;
        } catch (error) {
          set({ error: errorMessage(error) });
          return false;
        } finally {
          set({ removing: null });
        }
      },

      resetForm() {
        testSerial++;
        set({ fieldErrors: {}, formError: null, testOutcome: null, testing: false });
      },

      clearError() {
        set({ error: null });
      },
    };
  });
}
