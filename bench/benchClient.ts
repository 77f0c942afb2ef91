import { spawn, type ChildProcess } from "node:child_process";

/** One streamed request as a client sees it. */
export interface StreamMeasure {
  ttftMs: number;
  decodeTokensPerSecond: number;
  tokens: number;
  totalMs: number;
  /** Who served it (`x-marduk-provider`), when the server says. */
  provider?: string;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The `data:` payloads of a server-sent event stream, one per event, as they arrive. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let boundary: number;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      if (event.startsWith("data: ")) yield event.slice("data: ".length);
    }
  }
}

/** Streams one chat completion over HTTP + SSE and measures it from the client's side. */
export async function streamChat(url: string, body: Record<string, unknown>): Promise<StreamMeasure> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let firstTokenAt: number | undefined;
  let tokens = 0;
  for await (const data of sseData(response.body!)) {
    if (data === "[DONE]") continue;
    const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string } }>; usage?: { completion_tokens: number } };
    if (chunk.choices[0]?.delta.content) firstTokenAt ??= performance.now();
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  const ended = performance.now();
  const ttftMs = (firstTokenAt ?? ended) - started;
  return {
    ttftMs,
    decodeTokensPerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (ended - (firstTokenAt ?? ended)) : 0,
    tokens,
    totalMs: ended - started,
    ...(response.headers.get("x-marduk-provider") ? { provider: response.headers.get("x-marduk-provider")! } : {}),
  };
}

/** Starts `marduk-local serve` and resolves with its URL once it listens (and printed `ready`, when given). */
export function startServe(args: string[], ready?: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["bin/marduk-local.js", "serve", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MARDUK_LOG_LEVEL: "warn" },
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on (\S+)/.exec(output);
      if (listening && (ready === undefined || output.includes(ready))) resolve({ url: listening[1]!, child });
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}
