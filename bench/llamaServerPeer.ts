/**
 * llama.cpp's own `llama-server` as a benchmark peer of `npm run bench -- --llama-server PATH`
 * (or env BENCH_LLAMA_SERVER): starts it on the bench model with the same threads, slots and
 * per-slot context as our server, and measures it through its native `POST /completion` API
 * from the client's side, as ./benchClient.ts measures ours. Build the binary from the
 * llama.cpp source node-llama-cpp ships with `bash scripts/build-llama-server.sh`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { median, sseData, type StreamMeasure } from "./benchClient.js";

/** The binary asked for on the command line (`--llama-server PATH`) or in BENCH_LLAMA_SERVER; undefined when neither. */
export function llamaServerPathFromArgs(argv: string[] = process.argv.slice(2)): string | undefined {
  const index = argv.indexOf("--llama-server");
  if (index >= 0) {
    const value = argv[index + 1];
    if (!value || value.startsWith("--")) throw new Error("--llama-server needs the path of a llama-server binary (scripts/build-llama-server.sh prints it)");
    return value;
  }
  const inline = argv.find((arg) => arg.startsWith("--llama-server="));
  return inline ? inline.slice("--llama-server=".length) : process.env.BENCH_LLAMA_SERVER || undefined;
}

export interface LlamaServerPeerOptions {
  /** Path of the `llama-server` binary. */
  binary: string;
  modelPath: string;
  /** `-t` and `-tb`: threads for generation and for prompt evaluation. */
  threads: number;
  /** `-np`: slots, i.e. concurrent sequences. */
  slots: number;
  /** Context of one slot, in tokens; the server gets `-c` = slots × this. */
  contextPerSlot: number;
  /** How long to wait for it to load the model and listen, in ms. Default 120000. */
  startTimeoutMs?: number;
}

/** One `/completion` request as its client sees it, plus what the server reports about its prompt. */
export interface CompletionMeasure extends StreamMeasure {
  /** The generated text. */
  text: string;
  /** Prompt tokens the server took from a slot's cache (`timings.cache_n`). */
  cachedPromptTokens: number;
  /** Prompt tokens the server evaluated (`timings.prompt_n`). */
  evaluatedPromptTokens: number;
}

export interface CompletionRequest {
  prompt: string;
  /** `n_predict`: tokens to generate. */
  maxTokens: number;
  /** `cache_prompt`: reuse the prompt prefix a slot holds (false measures decode alone). */
  cachePrompt: boolean;
}

/** A running llama-server on loopback; {@link dispose} stops it. */
export class LlamaServerPeer {
  private exited: Promise<void>;
  /** The tail of its log, to explain a crash. */
  private logTail = "";

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const keep = (chunk: Buffer): void => {
      this.logTail = (this.logTail + chunk.toString()).slice(-8000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
  }

  /** Starts the binary and resolves once the model is loaded and it listens. */
  static start(options: LlamaServerPeerOptions): Promise<LlamaServerPeer> {
    // Batch sizes as node-llama-cpp's default for this context (512, logical = physical), the
    // rest llama-server's defaults (flash attention auto, f16 KV cache, mmap), like ours.
    const args = [
      "-m", options.modelPath,
      "-t", String(options.threads), "-tb", String(options.threads),
      "-np", String(options.slots), "-c", String(options.slots * options.contextPerSlot),
      "-b", "512", "-ub", "512",
      "--host", "127.0.0.1", "--port", "0", "--no-webui",
    ];
    const child = spawn(options.binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
      // Only the tail of its log is kept: enough to explain a failed start.
      let log = "";
      let started = false;
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`llama-server did not listen within ${options.startTimeoutMs ?? 120_000} ms:\n${log}`));
      }, options.startTimeoutMs ?? 120_000);
      const onOutput = (chunk: Buffer): void => {
        if (started) return;
        log = (log + chunk.toString()).slice(-8000);
        // Printed after the model has loaded (`main: ... listening on http://127.0.0.1:PORT`).
        const listening = /listening on (http:\/\/\S+)/.exec(log);
        if (!listening) return;
        started = true;
        clearTimeout(timer);
        resolve(new LlamaServerPeer(listening[1]!, child));
      };
      child.stdout!.on("data", onOutput);
      child.stderr!.on("data", onOutput);
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (!started) reject(new Error(`llama-server exited (${code ?? signal}) before listening:\n${log}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Formats chat messages with the model's chat template, as llama-server's chat endpoint would (`POST /apply-template`). */
  async applyTemplate(messages: Array<{ role: string; content: string }>): Promise<string> {
    const response = await this.post(`${this.url}/apply-template`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages }) });
    if (!response.ok) throw new Error(`llama-server /apply-template: HTTP ${response.status}: ${await response.text()}`);
    const { prompt } = (await response.json()) as { prompt: string };
    return prompt;
  }

  /** Streams one `/completion` (greedy, EOS ignored) and measures it as {@link streamChat} measures ours. */
  async streamCompletion(request: CompletionRequest): Promise<CompletionMeasure> {
    const started = performance.now();
    const response = await this.post(`${this.url}/completion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: request.prompt, n_predict: request.maxTokens, ignore_eos: true, cache_prompt: request.cachePrompt, temperature: 0, stream: true }),
    });
    if (!response.ok) throw new Error(`llama-server /completion: HTTP ${response.status}: ${await response.text()}`);
    let text = "";
    let firstTokenAt: number | undefined;
    let final: { tokens_predicted?: number; timings?: { cache_n?: number; prompt_n?: number } } | undefined;
    const events = sseData(response.body!);
    for (;;) {
      const { value: data, done } = await events.next().catch(async (error: unknown) => Promise.reject(await this.explain(error)));
      if (done) break;
      const chunk = JSON.parse(data) as { content?: string; stop?: boolean; error?: unknown };
      if (chunk.error) throw new Error(`llama-server /completion: ${JSON.stringify(chunk.error)}`);
      if (chunk.content) {
        firstTokenAt ??= performance.now();
        text += chunk.content;
      }
      if (chunk.stop) final = chunk as typeof final;
    }
    const ended = performance.now();
    const tokens = final?.tokens_predicted ?? 0;
    const decodeMs = ended - (firstTokenAt ?? ended);
    return {
      ttftMs: (firstTokenAt ?? ended) - started,
      decodeTokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : 0,
      tokens,
      totalMs: ended - started,
      text,
      cachedPromptTokens: final?.timings?.cache_n ?? 0,
      evaluatedPromptTokens: final?.timings?.prompt_n ?? 0,
    };
  }

  /**
   * fetch, with the server's exit status and log tail in the error when it died. Retried once
   * when a kept-alive socket was closed under the request (cpp-httplib closes idle connections
   * after 5 s, and now and then undici sends on one just as that happens): no response has
   * started then, so the server has not taken the request.
   */
  private async post(url: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(url, init);
      } catch (error) {
        const closedUnder = ((error as Error).cause as { code?: string } | undefined)?.code === "UND_ERR_SOCKET";
        const explained = await this.explain(error);
        if (!closedUnder || explained !== error || attempt > 0) throw explained;
      }
    }
  }

  /** The error, or its death when the server died: a closed socket is usually noticed before the exit, so wait a second for it. */
  private async explain(error: unknown): Promise<Error> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    const status = this.child.exitCode ?? this.child.signalCode;
    return status === null ? (error as Error) : new Error(`llama-server exited (${status}):\n${this.logTail}`, { cause: error });
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. */
  async dispose(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(killer);
  }
}

/** The multi-turn scenario's figures for the peer (see `multiTurnScenario` in ./apiBench.ts). */
export interface PeerMultiTurnRow {
  /** Median over the conversations of each turn's time to first token, as the client sees it. */
  ttftMsByTurn: number[];
  firstTurnTtftMs: number;
  lastTurnTtftMs: number;
  /** Share of all prompt tokens the server took from a slot's cache. */
  reusedPromptShare: number;
}

/**
 * Plays the multi-turn scenario against the peer: the same conversations, round-robin, one
 * request at a time, the whole history each turn, formatted by the peer's own chat template and
 * sent to `/completion` with `cache_prompt` and no `id_slot` (llama-server picks the slot whose
 * prompt is most alike). `userText(conversation, turn)` gives each user message.
 */
export async function multiTurnOnPeer(
  peer: LlamaServerPeer,
  options: { conversations: number; turns: number; replyTokens: number; userText: (conversation: number, turn: number) => string },
): Promise<PeerMultiTurnRow> {
  const histories: Array<Array<{ role: string; content: string }>> = Array.from({ length: options.conversations }, () => []);
  const ttfts: number[][] = Array.from({ length: options.turns }, () => []);
  let cached = 0;
  let evaluated = 0;
  for (let turn = 0; turn < options.turns; turn++) {
    for (const [conversation, history] of histories.entries()) {
      history.push({ role: "user", content: options.userText(conversation, turn) });
      const prompt = await peer.applyTemplate(history);
      const result = await peer.streamCompletion({ prompt, maxTokens: options.replyTokens, cachePrompt: true });
      history.push({ role: "assistant", content: result.text });
      ttfts[turn]!.push(result.ttftMs);
      cached += result.cachedPromptTokens;
      evaluated += result.evaluatedPromptTokens;
    }
  }
  const ttftMsByTurn = ttfts.map((values) => median(values));
  return { ttftMsByTurn, firstTurnTtftMs: ttftMsByTurn[0]!, lastTurnTtftMs: ttftMsByTurn.at(-1)!, reusedPromptShare: cached / Math.max(1, cached + evaluated) };
}

/**
 * Resident memory (VmRSS) of a process and all its descendants, from /proc (Linux): our
 * server's model host processes are its children. Undefined off Linux or once it has exited.
 * (/proc/PID/task/TID/children needs a kernel option this kind of machine lacks, so parents
 * are read from every /proc/PID/stat.)
 */
export function processTreeResidentBytes(rootPid: number | undefined): number | undefined {
  if (rootPid === undefined || process.platform !== "linux") return undefined;
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process exited while we read.
    }
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) if (tree.has(ppid) && !tree.has(pid)) grew = tree.add(pid).size > 0;
  }
  let total: number | undefined;
  for (const pid of tree) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) total = (total ?? 0) + Number(match[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}
