import type { ChatSettings, ContextOverflowPolicy } from "../../../../shared/contract/index.js";

/** The sampling panel's fields as the user typed them. */
export interface ChatSettingsForm {
  temperature: string;
  topP: string;
  topK: string;
  minP: string;
  repeatPenalty: string;
  maxTokens: string;
  seed: string;
  /** One stop sequence per line. */
  stop: string;
  ignoreEos: boolean;
  outputMode: "text" | "json_object" | "json_schema";
  /** The JSON schema's text (json_schema mode). */
  schema: string;
  /** "" inherits the default (model, app, built in). */
  contextOverflow: "" | ContextOverflowPolicy;
}

/** The overflow policies as the panel names them. */
export const CONTEXT_OVERFLOW_LABELS: Record<ContextOverflowPolicy, string> = {
  truncateMiddle: "Truncate middle",
  rollingWindow: "Rolling window",
  stopAtLimit: "Stop at limit",
};

const text = (value: number | undefined): string => (value === undefined ? "" : String(value));

export function settingsToForm(settings: ChatSettings): ChatSettingsForm {
  const format = settings.responseFormat;
  return {
    temperature: text(settings.temperature),
    topP: text(settings.topP),
    topK: text(settings.topK),
    minP: text(settings.minP),
    repeatPenalty: text(settings.repeatPenalty),
    maxTokens: text(settings.maxTokens),
    seed: text(settings.seed),
    stop: (settings.stop ?? []).join("\n"),
    ignoreEos: settings.ignoreEos ?? false,
    outputMode: format?.type ?? "text",
    schema: format?.type === "json_schema" ? JSON.stringify(format.schema, null, 2) : "",
    contextOverflow: settings.contextOverflow ?? "",
  };
}

interface NumberRule {
  label: string;
  min?: number;
  max?: number;
  integer?: boolean;
}

function parseNumber(value: string, rule: NumberRule): number | undefined {
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  const number = Number(trimmed);
  if (!Number.isFinite(number)) throw new Error(`${rule.label} must be a number.`);
  if (rule.integer && !Number.isInteger(number)) throw new Error(`${rule.label} must be a whole number.`);
  if (rule.min !== undefined && number < rule.min) throw new Error(`${rule.label} must be at least ${rule.min}.`);
  if (rule.max !== undefined && number > rule.max) throw new Error(`${rule.label} must be at most ${rule.max}.`);
  return number;
}

/** Checks the form and turns it into settings; empty fields mean "the default". */
export function formToSettings(form: ChatSettingsForm): { settings: ChatSettings } | { error: string } {
  try {
    const settings: ChatSettings = {};
    const set = <K extends keyof ChatSettings>(key: K, value: ChatSettings[K] | undefined): void => {
      if (value !== undefined) settings[key] = value;
    };
    set("temperature", parseNumber(form.temperature, { label: "Temperature", min: 0, max: 2 }));
    set("topP", parseNumber(form.topP, { label: "Top P", min: 0, max: 1 }));
    set("topK", parseNumber(form.topK, { label: "Top K", min: 0, integer: true }));
    set("minP", parseNumber(form.minP, { label: "Min P", min: 0, max: 1 }));
    set("repeatPenalty", parseNumber(form.repeatPenalty, { label: "Repeat penalty", min: 0 }));
    set("maxTokens", parseNumber(form.maxTokens, { label: "Max tokens", min: 1, integer: true }));
    set("seed", parseNumber(form.seed, { label: "Seed", integer: true }));
    const stop = form.stop.split("\n").filter((line) => line.length > 0);
    if (stop.length > 16) throw new Error("At most 16 stop sequences.");
    if (stop.length > 0) settings.stop = stop;
    if (form.ignoreEos) settings.ignoreEos = true;
    if (form.contextOverflow !== "") settings.contextOverflow = form.contextOverflow;
    if (form.outputMode === "json_object") settings.responseFormat = { type: "json_object" };
    if (form.outputMode === "json_schema") {
      let schema: unknown;
      try {
        schema = JSON.parse(form.schema);
      } catch (error) {
        throw new Error(`The JSON schema is not valid JSON: ${(error as Error).message}`, { cause: error });
      }
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw new Error("The JSON schema must be a JSON object.");
      settings.responseFormat = { type: "json_schema", schema: schema as Record<string, unknown> };
    }
    return { settings };
  } catch (error) {
    return { error: (error as Error).message };
  }
}
