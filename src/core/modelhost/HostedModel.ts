import type { ChatMessage, EmbeddingInput, EmbeddingResult } from "../../shared/api/generation.js";
import type { RerankResult } from "../inference/rerankTypes.js";
import { RpcError } from "../../shared/rpc/rpcErrors.js";
import type { ChatCallOptions, ChatPromptOptions, EncoderCallOptions, GenerateCallOptions, LoadedModelInfo, ModelLoadStats } from "../engine/LoadedModel.js";
import type { LocalModel } from "../engine/LocalModel.js";
import type { SequencePoolState } from "../engine/SequencePool.js";
import { AbortedError, fromErrorPayload, ModelCrashedError, toMardukError, type MardukError } from "../errors.js";
import { GenerationStream } from "../inference/GenerationStream.js";
import { describeHostExit, type HostExit } from "./hostLastWords.js";
import type { HostGenerationEvent, HostGenerationRequest } from "./modelHostApi.js";
import type { ModelHostProcess } from "./ModelHostProcess.js";

/** Describes a host's crash as the error its requests fail with. */
export function modelCrashedError(modelId: string, exit: HostExit): ModelCrashedError {
  return new ModelCrashedError(modelId, `The model '${modelId}' crashed: ${describeHostExit(exit)}`);
}

/** A generation request before it has its id (each variant without `requestId`). */
type HostRequest = HostGenerationRequest extends infer Request ? (Request extends unknown ? Omit<Request, "requestId"> : never) : never;

/**
 * A model loaded in a model host process, as the rest of the core sees it: the same members as
 * a {@link LoadedModel} in this process. Generations run in the host; their deltas arrive as
 * events and are pushed to a {@link GenerationStream} here; an abort signal aborts them with a
 * call. The sequences' state is mirrored from the host's events. When the host dies, every
 * request still running fails with `model_crashed` and the host's last words, and
 * {@link onCrashed} listeners learn of it (the residency forgets the model).
 */
export class HostedModel implements LocalModel {
  readonly id: string;
  readonly path: string;
  readonly loadedAt: number;
  readonly contextSize: number;
  readonly stats: ModelLoadStats;
  private readonly loadInfo: LoadedModelInfo;
  private sequenceState: SequencePoolState;
  private readonly streams = new Map<number, GenerationStream>();
  private readonly crashListeners = new Set<(error: MardukError) => void>();
  private readonly stopListening: (() => void)[];
  private nextRequestId = 1;
  private crash: ModelCrashedError | undefined;
  private disposed = false;

  constructor(
    private readonly host: ModelHostProcess,
    id: string,
    info: LoadedModelInfo,
  ) {
    this.id = id;
    this.path = info.path;
    this.loadedAt = info.loadedAt;
    this.contextSize = info.contextSize;
    this.stats = info.stats;
    this.loadInfo = { ...info, id };
    this.sequenceState = info.sequences;
    this.stopListening = [
      host.api.model.onGeneration((event) => this.onGenerationEvent(event)),
      host.api.model.onSequences((state) => (this.sequenceState = state)),
    ];
    void host.exited.then((exit) => {
      if (exit.expected) return;
      this.crash = modelCrashedError(id, exit);
      for (const stream of this.streams.values()) stream.fail(this.crash);
      this.streams.clear();
      for (const listener of this.crashListeners) listener(this.crash);
    });
  }

  /** The host process's id. */
  get pid(): number | undefined {
    return this.host.pid;
  }

  get sequences(): SequencePoolState {
    return this.sequenceState;
  }

  get info(): LoadedModelInfo {
    return { ...this.loadInfo, sequences: this.sequenceState };
  }

  chat(messages: readonly ChatMessage[], options: ChatCallOptions = {}): GenerationStream {
    const { signal, ...rest } = options;
    return this.generate({ kind: "chat", messages, options: rest }, signal);
  }

  complete(prompt: string, options: GenerateCallOptions = {}): GenerationStream {
    const { signal, ...rest } = options;
    return this.generate({ kind: "complete", prompt, options: rest }, signal);
  }

  embed(inputs: readonly EmbeddingInput[], { signal, priority }: EncoderCallOptions = {}): Promise<EmbeddingResult> {
    return this.call(signal, (requestId) => this.host.api.model.embed({ requestId, inputs, priority }));
  }

  rerank(query: string, documents: readonly string[], { signal, priority }: EncoderCallOptions = {}): Promise<RerankResult> {
    return this.call(signal, (requestId) => this.host.api.model.rerank({ requestId, query, documents, priority }));
  }

  countChatTokens(messages: readonly ChatMessage[], options: ChatPromptOptions = {}): Promise<number> {
    return this.call(undefined, () => this.host.api.model.countChatTokens({ messages, options }));
  }

  /**
   * One call to the host under a new request id: an abort of `signal` aborts it there, and a
   * failure becomes the error its caller should see (model_crashed when the host died).
   */
  private async call<T>(signal: AbortSignal | undefined, send: (requestId: number) => Promise<T>): Promise<T> {
    this.assertUsable();
    if (signal?.aborted) throw new AbortedError();
    const requestId = this.nextRequestId++;
    const abort = (): void => void this.host.api.model.abort({ requestId }).catch(() => undefined);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      return await send(requestId);
    } catch (error) {
      throw await this.failureOf(error);
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  onCrashed(listener: (error: MardukError) => void): () => void {
    if (this.crash) {
      const crash = this.crash;
      queueMicrotask(() => listener(crash));
      return () => undefined;
    }
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** Ends running generations (finish reason "abort"), unloads the model and ends the host process. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.host.stop();
    for (const unsubscribe of this.stopListening) unsubscribe();
    this.crashListeners.clear();
    for (const stream of this.streams.values()) stream.fail(new AbortedError("The model was unloaded"));
    this.streams.clear();
  }

  private generate(request: HostRequest, signal: AbortSignal | undefined): GenerationStream {
    this.assertUsable();
    const stream = new GenerationStream();
    if (signal?.aborted) {
      stream.fail(new AbortedError());
      return stream;
    }
    const requestId = this.nextRequestId++;
    this.streams.set(requestId, stream);
    const abort = (): void => void this.host.api.model.abort({ requestId }).catch(() => undefined);
    signal?.addEventListener("abort", abort, { once: true });
    this.host.api.model
      .generate({ ...request, requestId } as HostGenerationRequest)
      .then(
        (result) => stream.end(result),
        async (error: unknown) => stream.fail(await this.failureOf(error)),
      )
      .finally(() => {
        signal?.removeEventListener("abort", abort);
        this.streams.delete(requestId);
      });
    return stream;
  }

  private onGenerationEvent(event: HostGenerationEvent): void {
    const stream = this.streams.get(event.requestId);
    if (!stream) return;
    if (event.type === "started") stream.markStarted();
    else for (const delta of event.deltas) stream.push(delta);
  }

  private assertUsable(): void {
    if (this.crash) throw this.crash;
    if (this.disposed || !this.host.alive) throw new AbortedError("The model is being unloaded");
  }

  /** What a failed call means: the request's own error, or the host's crash (once its last words are in). */
  private async failureOf(error: unknown): Promise<MardukError> {
    if (!this.host.alive) {
      const exit = await this.host.exited;
      return exit.expected ? new AbortedError("The model was unloaded") : modelCrashedError(this.id, exit);
    }
    return error instanceof RpcError ? fromErrorPayload(error.toPayload()) : toMardukError(error);
  }
}
