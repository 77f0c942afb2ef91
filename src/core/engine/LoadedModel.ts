import {
  DraftSequenceTokenPredictor,
  GeneralChatWrapper,
  InputLookupTokenPredictor,
  LlamaChat,
  LlamaCompletion,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import type { LlamaEmbeddingContext, LlamaGrammar, LlamaRankingContext } from "node-llama-cpp";
import type { RerankResult } from "../inference/rerankTypes.js";
import type {
  ChatGenerationOptions,
  ChatMessage,
  EmbeddingInput,
  EmbeddingResult,
  FinishReason,
  GenerationOptions,
  GenerationResult,
  SpeculationStats,
  ToolCall,
  ToolCallDelta,
} from "../../shared/api/generation.js";
import type { EffectiveLoadOptions, SpeculativeMode } from "../../shared/api/loadOptions.js";
import { AbortedError, ContextLengthExceededError, InvalidArgumentError, toMardukError } from "../errors.js";
import { isAssistantPrefill, toChatHistory } from "./chatHistory.js";
import {
  createResponseGrammar,
  forcedToolCallSchema,
  newToolCallId,
  ForcedToolCallStreamer,
  parseForcedToolCall,
  selectTools,
  toChatModelFunctions,
  withForcedToolInstructions,
} from "./structuredOutput.js";
import { resolveGenerationOptions, type ResolvedGenerationOptions } from "./generationOptions.js";
import { GenerationStream } from "../inference/GenerationStream.js";
import { findEndOfGenerationTokens, toLlamaSamplingOptions } from "./samplingOptions.js";
import type { LocalModel } from "./LocalModel.js";
import { chooseSequence } from "./prefixMatch.js";
import { SequencePool, type RequestPriority, type SequencePoolOptions, type SequencePoolState } from "./SequencePool.js";
import { SequenceStateStore, type SequenceStateStats, type SequenceStateStoreOptions } from "./SequenceStateStore.js";
import { StopStringMatcher } from "./StopStringMatcher.js";
import { hasThoughtSegments, resolveReasoningOptions, thinkingWanted, thoughtTokenBudget, withoutThinking } from "./reasoning.js";
import { SwitchableTokenPredictor } from "./SwitchableTokenPredictor.js";
import type { Logger } from "../logger.js";
import { BatchEmbedder } from "./BatchEmbedder.js";
import { embeddingInputTokens, rankingInputTokens, rankingScore } from "./encoderInputs.js";

/** The smaller model of speculative "draft", loaded beside its target; the target's {@link LoadedModel} owns it. */
export interface DraftModel {
  id: string;
  model: LlamaModel;
  /** Has as many sequences as the target's context: each drafts for one target sequence. */
  context: LlamaContext;
}

/** Most tokens drafted at once: a longer draft costs the draft model more than the target saves when it is rejected. */
const MAX_DRAFT_TOKENS = 8;
/**
 * Tokens a draft model drafts before the target evaluates (unless the draft loses confidence
 * first). node-llama-cpp's default, 0, lets the target go on with whatever is drafted so far,
 * which on a CPU is usually nothing: the draft runs on the same cores.
 */
const MIN_DRAFT_TOKENS = 4;

/** What loading a model cost. */
export interface ModelLoadStats {
  loadMs: number;
  /** Bytes of weights (node-llama-cpp's `model.size`). */
  modelBytes: number;
  /** Bytes of the context state (KV cache and buffers) of all sequences. */
  contextBytes: number;
  /** Growth of the process's resident memory during the load. */
  rssDeltaBytes: number;
}

export interface LoadedModelInfo {
  id: string;
  path: string;
  contextSize: number;
  parallel: number;
  gpuLayers: number;
  threads: number;
  chatWrapper: string;
  hasChatTemplate: boolean;
  loadedAt: number;
  stats: ModelLoadStats;
  sequences: SequencePoolState;
  /** The runtime options it runs with (flash attention, KV cache types, batch size, mmap, mlock). */
  loadOptions?: EffectiveLoadOptions;
}

/** How much of the prompts the KV cache spared evaluating, since the load. */
export interface PromptCacheStats {
  /** Generations that evaluated their prompt. */
  requests: number;
  /** Prompt tokens of those generations. */
  promptTokens: number;
  /** Prompt tokens that were not evaluated (already in the sequence's cache), by its token meter. */
  reusedPromptTokens: number;
  /** States saved to and restored from disk. */
  states: SequenceStateStats;
}

/** A generation request as the engine sees it. */
export interface GenerateCallOptions extends GenerationOptions {
  /** Aborts the generation (or its wait for a sequence). */
  signal?: AbortSignal;
  /** Its place in the wait for a sequence (see RequestPriority). Default: "interactive". */
  priority?: RequestPriority;
}

/** An embedding or ranking request as the engine sees it. */
export interface EncoderCallOptions {
  /** Aborts the work (or its wait for the model's embedding turn). */
  signal?: AbortSignal;
  /** Its place in the wait for the embedding turn: batch lines go behind clients. Default: "interactive". */
  priority?: RequestPriority;
}

/** What shapes a chat prompt besides its messages (the tools the template renders). */
export type ChatPromptOptions = Pick<ChatGenerationOptions, "tools" | "toolChoice" | "responseFormat" | "reasoning">;

/** A chat request as the engine sees it. */
export interface ChatCallOptions extends ChatGenerationOptions {
  /** Aborts the generation (or its wait for a sequence). */
  signal?: AbortSignal;
  /** Its place in the wait for a sequence (see RequestPriority). Default: "interactive". */
  priority?: RequestPriority;
}

interface RunOutput {
  text: string;
  stopReason: StopReason;
  /** The stop string the run ended at (stopReason "customStopTrigger"), when known. */
  stopSequence?: string;
  toolCalls?: ToolCall[];
}

type StopReason = "eogToken" | "stopGenerationTrigger" | "functionCalls" | "maxTokens" | "abort" | "customStopTrigger";

function toFinishReason(stopReason: StopReason): FinishReason {
  if (stopReason === "maxTokens") return "length";
  if (stopReason === "functionCalls") return "tool_calls";
  if (stopReason === "abort") return "abort";
  return "stop";
}

/** The stop string a chat response ended at: node-llama-cpp names the trigger that matched (ours are plain text). */
function stopSequenceOf(metadata: { stopReason: string; customStopTrigger?: readonly (string | Token)[] }): { stopSequence?: string } {
  if (metadata.stopReason !== "customStopTrigger" || !metadata.customStopTrigger) return {};
  const text = metadata.customStopTrigger.filter((part): part is string => typeof part === "string").join("");
  return text ? { stopSequence: text } : {};
}

type Predictions = LlamaContextSequence["tokenPredictions"];

/** What a generation drafted and had accepted, from the sequence's prediction counters before and after. */
function predictionStats(before: Predictions, after: Predictions): SpeculationStats {
  const accepted = after.validated - before.validated;
  return { draftedTokens: accepted + (after.refuted - before.refuted), acceptedTokens: accepted };
}

/**
 * One model in memory with one context of `parallel` sequences. Concurrent generations each
 * borrow a sequence, so llama.cpp evaluates them together in shared batches; more wait in the
 * pool's FIFO queue. A sequence keeps its tokens between requests, so a follow-up request
 * that shares a prefix (the same chat with one more turn) skips re-evaluating it: a request
 * gets the free sequence whose cache its prompt continues ({@link chooseSequence}), and with
 * more conversations than sequences the evicted caches wait on disk ({@link SequenceStateStore}).
 */
export class LoadedModel implements LocalModel {
  readonly loadedAt = Date.now();
  readonly chatWrapper: ChatWrapper;
  readonly hasChatTemplate: boolean;
  private readonly pool: SequencePool<LlamaContextSequence>;
  private endOfGenerationTokens: Token[] | undefined;
  private readonly running = new Set<Promise<unknown>>();
  private embeddingContext: Promise<LlamaEmbeddingContext> | undefined;
  /**
   * One embedding or ranking runs at a time (each evaluates many texts at once); the others wait
   * here, interactive requests before batch lines, with the generation queue's limits.
   */
  private readonly encoderTurn: SequencePool<"encoder">;
  private readonly batchEncoders = new Map<"embedding" | "ranking", Promise<BatchEmbedder>>();
  /** Says once why embeddings are not batched: set by the engine that created it. Default: silent. */
  logger?: Logger;
  private rankingContext: Promise<LlamaRankingContext> | undefined;
  /** Aborts every running generation when the model is unloaded. */
  private readonly unloading = new AbortController();
  private readonly sequenceListeners = new Set<(state: SequencePoolState) => void>();
  private readonly savedStates: SequenceStateStore;
  private readonly promptCounts = { requests: 0, promptTokens: 0, reusedPromptTokens: 0 };
  private disposed = false;
  /** The runtime options it was loaded with, for {@link info}: set by the engine that created it. */
  loadOptions?: EffectiveLoadOptions;

  constructor(
    readonly id: string,
    readonly path: string,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly threads: number,
    readonly stats: ModelLoadStats,
    poolOptions: SequencePoolOptions = {},
    /** Where and how many evicted KV caches are kept on disk (defaults: see {@link SequenceStateStoreOptions}). */
    stateStoreOptions: SequenceStateStoreOptions = {},
    /** Speculative decoding of its sequences. Default: "off" (no token predictor at all). */
    readonly speculative: SpeculativeMode = "off",
    /** The draft model of speculative "draft"; this model disposes it. Default: none. */
    private readonly draft?: DraftModel,
  ) {
    if (speculative === "draft" && !draft) throw new InvalidArgumentError('speculative "draft" needs a draft model', "draftModel");
    this.savedStates = new SequenceStateStore(stateStoreOptions);
    this.encoderTurn = new SequencePool(["encoder"], { maxQueue: poolOptions.maxQueue, queueTimeoutMs: poolOptions.queueTimeoutMs });
    const sequences: LlamaContextSequence[] = [];
    // node-llama-cpp fixes a sequence's predictor at its creation; requests switch it (see SwitchableTokenPredictor).
    const tokenPredictor = (): SwitchableTokenPredictor | undefined => {
      if (speculative === "prompt-lookup") {
        return new SwitchableTokenPredictor(new InputLookupTokenPredictor({ patternLength: { min: 3 }, predictionLength: { max: MAX_DRAFT_TOKENS } }));
      }
      if (speculative === "draft" && draft) {
        return new SwitchableTokenPredictor(new DraftSequenceTokenPredictor(draft.context.getSequence(), { minTokens: MIN_DRAFT_TOKENS, maxTokens: MAX_DRAFT_TOKENS }));
      }
      return undefined;
    };
    while (context.sequencesLeft > 0) {
      const predictor = tokenPredictor();
      sequences.push(context.getSequence(predictor ? { tokenPredictor: predictor } : {}));
    }
    this.pool = new SequencePool(sequences, {
      ...poolOptions,
      onChange: (state) => {
        poolOptions.onChange?.(state);
        for (const listener of this.sequenceListeners) listener(state);
      },
    });
    this.hasChatTemplate = typeof model.fileInfo.metadata.tokenizer?.chat_template === "string";
    // A model without a template gets a plain "### User / ### Assistant" layout rather than a
    // guess from its architecture, which would invent control tokens the model never learned.
    this.chatWrapper = this.hasChatTemplate
      ? resolveChatWrapper(model, { fallbackToOtherWrappersOnJinjaError: true })
      : new GeneralChatWrapper();
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  get sequences(): SequencePoolState {
    return this.pool.state;
  }

  get info(): LoadedModelInfo {
    return {
      id: this.id,
      path: this.path,
      contextSize: this.contextSize,
      parallel: this.pool.state.size,
      gpuLayers: this.model.gpuLayers,
      threads: this.threads,
      chatWrapper: this.chatWrapper.wrapperName,
      hasChatTemplate: this.hasChatTemplate,
      loadedAt: this.loadedAt,
      stats: this.stats,
      sequences: this.pool.state,
      ...(this.loadOptions ? { loadOptions: this.loadOptions } : {}),
    };
  }

  get promptCache(): PromptCacheStats {
    return { ...this.promptCounts, states: this.savedStates.stats };
  }

  /** Registers a listener of every change of {@link sequences}; returns the function that removes it. */
  onSequencesChanged(listener: (state: SequencePoolState) => void): () => void {
    this.sequenceListeners.add(listener);
    return () => this.sequenceListeners.delete(listener);
  }

  /** Exact tokens a conversation takes in the model's chat template (as a chat request would count them). */
  async countChatTokens(messages: readonly ChatMessage[], options: ChatPromptOptions = {}): Promise<number> {
    return this.chatPrompt(messages, options).tokens.length;
  }

  /**
   * The prompt a chat request evaluates, as {@link chat} builds it: tools the model may call
   * natively are rendered by the template; a forced call ("required" or a name) adds its
   * instructions to the history instead; a thinking template gets an empty thought when the
   * reply must not think.
   */
  private chatPrompt(messages: readonly ChatMessage[], options: ChatPromptOptions) {
    const { tools = [], toolChoice, responseFormat = { type: "text" } } = options;
    const selected = selectTools(tools, toolChoice ?? "auto");
    const forcedCall = selected.length > 0 && toolChoice !== undefined && toolChoice !== "auto";
    const nativeFunctions = selected.length > 0 && !forcedCall ? toChatModelFunctions(selected) : undefined;
    if (isAssistantPrefill(messages.at(-1)) && (forcedCall || responseFormat.type !== "text")) {
      // The grammar would shape only the continuation, not the prefilled text before it.
      throw new InvalidArgumentError(
        "A last assistant message (a prefill the reply continues) cannot be combined with a JSON response format or a forced tool call",
        "messages",
      );
    }
    const baseHistory = toChatHistory(messages);
    const withTools = forcedCall ? withForcedToolInstructions(baseHistory, selected) : baseHistory;
    // Thinking off, or a grammar (JSON formats, forced calls; it must shape the answer, not the
    // thought): the reply starts after an empty, closed thought.
    const grammarShaped = forcedCall || responseFormat.type !== "text";
    const skipThinking = hasThoughtSegments(this.chatWrapper) && (grammarShaped || !thinkingWanted(resolveReasoningOptions(options.reasoning)));
    const history = skipThinking ? withoutThinking(withTools) : withTools;
    return { selected, forcedCall, nativeFunctions, skipThinking, history, tokens: this.chatPromptTokens(history, nativeFunctions) };
  }

  /** The tokens LlamaChat evaluates for a history (it renders and tokenizes it the same way). */
  private chatPromptTokens(history: ChatHistoryItem[], functions?: ChatModelFunctions): Token[] {
    return this.chatWrapper
      .generateContextState({ chatHistory: history, ...(functions ? { availableFunctions: functions } : {}) })
      .contextText.tokenize(this.model.tokenizer);
  }

  /**
   * Generates the assistant's reply to a conversation with the model's own chat template.
   * Tools with choice "auto" use node-llama-cpp's function calling in the model's own syntax;
   * "required" or a named tool, and JSON response formats, constrain the reply with a grammar.
   */
  chat(messages: readonly ChatMessage[], options: ChatCallOptions = {}): GenerationStream {
    const { signal, priority, responseFormat = { type: "text" }, tools = [], toolChoice, reasoning, ...rest } = options;
    const resolved = resolveGenerationOptions(rest);
    const reasoningOptions = resolveReasoningOptions(reasoning);
    const { selected, forcedCall, nativeFunctions, skipThinking, history, tokens: promptTokens } = this.chatPrompt(messages, { tools, toolChoice, responseFormat, reasoning });
    const thoughtTokens = skipThinking ? 0 : thoughtTokenBudget(reasoningOptions);
    if (nativeFunctions && responseFormat.type !== "text") {
      throw new InvalidArgumentError("response_format cannot be combined with tools unless tool_choice is 'none'", "response_format");
    }
    const grammarFormat = forcedCall ? ({ type: "json_schema", schema: forcedToolCallSchema(selected) } as const) : responseFormat;

    return this.generate({ tokens: promptTokens, count: promptTokens.length }, resolved, { signal, priority }, {
      prepare: () => createResponseGrammar(this.model.llama, grammarFormat),
      run: async (sequence, common, grammar) => {
        const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: this.chatWrapper, autoDisposeSequence: false });
        try {
          const { onToken, onTextChunk, onThoughtChunk, onToolCallDelta, ...sampling } = common;
          const forcedCallStreamer = forcedCall ? new ForcedToolCallStreamer() : undefined;
          // node-llama-cpp matches stop strings in the thought too (a word the model thinks
          // would end the reply before any answer): with a thinking template they are matched
          // here, on the answer only.
          const answerStops =
            hasThoughtSegments(this.chatWrapper) && !forcedCallStreamer && sampling.customStopTriggers
              ? new StopStringMatcher(sampling.customStopTriggers)
              : undefined;
          const stopAtMatch = new AbortController();
          let answerText = "";
          const emitAnswer = (text: string): void => {
            answerText += text;
            onTextChunk(text);
          };
          const shared = {
            ...sampling,
            ...(answerStops ? { customStopTriggers: undefined, signal: AbortSignal.any([sampling.signal, stopAtMatch.signal]) } : {}),
            // The prompt was checked to fit, so the context never shifts under a request.
            contextShift: { size: 0 },
            budgets: { thoughtTokens },
            // LlamaChat's onToken/onTextChunk see only the answer; its response chunks also carry
            // the thought (segments), apart from it.
            onResponseChunk: (chunk: { type?: "segment"; tokens: Token[]; text: string }) => {
              if (chunk.type === "segment") {
                onThoughtChunk(chunk.tokens, thoughtTokens === 0 ? "" : chunk.text);
                return;
              }
              onToken(chunk.tokens);
              if (answerStops) {
                emitAnswer(answerStops.push(chunk.text));
                if (answerStops.stopped) stopAtMatch.abort();
                return;
              }
              if (!forcedCallStreamer) {
                onTextChunk(chunk.text);
                return;
              }
              // A forced call's JSON is the call, not answer text: it streams as pieces of the call.
              const piece = forcedCallStreamer.push(chunk.text);
              if (piece) onToolCallDelta(piece);
              else onTextChunk("");
            },
          };
          const response = nativeFunctions
            ? await chat.generateResponse(history, { ...shared, functions: nativeFunctions })
            : await chat.generateResponse(history, { ...shared, ...(grammar ? { grammar } : {}) });
          const calls = response.functionCalls ?? [];
          if (calls.length > 0) {
            const toolCalls = calls.map((call) => ({ id: newToolCallId(), name: call.functionName, arguments: JSON.stringify(call.params ?? {}) }));
            return { text: response.response, stopReason: "functionCalls", toolCalls };
          }
          if (forcedCall && response.metadata.stopReason === "maxTokens") {
            // Cut by max_tokens: the call as far as it got, finish reason "length" (as OpenAI does).
            const cut = forcedCallStreamer?.call();
            return { text: "", stopReason: "maxTokens", ...(cut ? { toolCalls: [cut] } : {}) };
          }
          if (forcedCall && response.metadata.stopReason !== "abort") {
            // Parsed to check it; the call keeps the id and arguments text it streamed with.
            const parsed = parseForcedToolCall(response.response);
            return { text: "", stopReason: "functionCalls", toolCalls: [forcedCallStreamer?.call() ?? parsed] };
          }
          if (answerStops?.stopped) return { text: answerText, stopReason: "customStopTrigger", stopSequence: answerStops.matchedStop };
          if (answerStops) {
            emitAnswer(answerStops.flush());
            return { text: answerText, stopReason: response.metadata.stopReason };
          }
          return { text: response.response, stopReason: response.metadata.stopReason, ...stopSequenceOf(response.metadata) };
        } finally {
          chat.dispose({ disposeSequence: false });
        }
      },
    });
  }

  /** Continues a raw prompt, with no chat template. */
  complete(prompt: string, options: GenerateCallOptions = {}): GenerationStream {
    const { signal, priority, ...rest } = options;
    const resolved = resolveGenerationOptions(rest);
    const count = this.model.tokenize(prompt, false).length + (this.model.tokens.shouldPrependBosToken ? 1 : 0);
    // The tokens LlamaCompletion evaluates, for the prefix match: after a BOS it trims the
    // text's leading space (its exact BOS rule is internal; this covers the usual vocabularies).
    const bos = this.model.tokens.shouldPrependBosToken ? this.model.tokens.bos : null;
    const tokens = bos === null ? this.model.tokenize(prompt, false) : [bos, ...this.model.tokenize(prompt, false, "trimLeadingSpace")];
    return this.generate({ tokens, count }, resolved, { signal, priority }, {
      run: async (sequence, common) => {
        const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
        try {
          if (resolved.stop.length === 0) {
            const response = await completion.generateCompletionWithMeta(prompt, { ...common, disableContextShift: true });
            return { text: response.response, stopReason: response.metadata.stopReason };
          }
          // LlamaCompletion matches stop strings against tokens detokenized one by one, which
          // drops SentencePiece's leading spaces (" fox" never matches), so stop strings are
          // matched here on the properly detokenized stream instead.
          const matcher = new StopStringMatcher(resolved.stop);
          const stopAtMatch = new AbortController();
          let text = "";
          const emit = (chunk: string): void => {
            if (!chunk) return;
            text += chunk;
            common.onTextChunk(chunk);
          };
          const response = await completion.generateCompletionWithMeta(prompt, {
            ...common,
            customStopTriggers: undefined,
            signal: AbortSignal.any([common.signal, stopAtMatch.signal]),
            disableContextShift: true,
            onTextChunk: (chunk) => {
              emit(matcher.push(chunk));
              if (matcher.stopped) stopAtMatch.abort();
            },
          });
          if (matcher.stopped) return { text, stopReason: "customStopTrigger" };
          emit(matcher.flush());
          return { text, stopReason: response.metadata.stopReason };
        } finally {
          completion.dispose({ disposeSequence: false });
        }
      },
    });
  }

  private generate(
    /** The tokens the run will evaluate (to pick a sequence) and the count reported and checked against the context. */
    prompt: { tokens: readonly Token[]; count: number },
    options: ResolvedGenerationOptions,
    { signal, priority }: Pick<GenerateCallOptions, "signal" | "priority">,
    steps: {
      /** Async set-up that may fail with a client error (e.g. building a grammar). */
      prepare?: () => Promise<LlamaGrammar | undefined>;
      run: (
        sequence: LlamaContextSequence,
        common: ReturnType<typeof toLlamaSamplingOptions> & {
          maxTokens: number;
          signal: AbortSignal;
          stopOnAbortSignal: true;
          onToken: (tokens: Token[]) => void;
          onTextChunk: (text: string) => void;
          /** A piece of a tool call being generated (a forced call). */
          onToolCallDelta: (toolCall: ToolCallDelta) => void;
          /** A piece of the model's thinking (chat wrappers with thought segments), with its tokens. */
          onThoughtChunk: (tokens: Token[], text: string) => void;
        },
        grammar: LlamaGrammar | undefined,
      ) => Promise<RunOutput>;
    },
  ): GenerationStream {
    const contextSize = this.contextSize;
    const promptTokens = prompt.count;
    if (promptTokens >= contextSize || (options.maxTokens ?? 0) + promptTokens > contextSize) {
      throw new ContextLengthExceededError(promptTokens, options.maxTokens ?? 0, contextSize);
    }
    if (this.disposed) throw new AbortedError("The model is being unloaded");
    if (options.speculative === true && this.speculative === "off") {
      throw new InvalidArgumentError(`The model '${this.id}' was loaded without speculative decoding: load it with speculative "prompt-lookup" or a draft model`, "speculative");
    }
    const speculate = this.speculative !== "off" && options.speculative !== false;
    const maxTokens = options.maxTokens ?? contextSize - promptTokens;
    const stream = new GenerationStream();
    const calledAt = performance.now();
    const abortSignal = signal ? AbortSignal.any([signal, this.unloading.signal]) : this.unloading.signal;

    const task = (async () => {
      const grammar = await steps.prepare?.();
      const lease = await this.pool.acquire(abortSignal, (free) => this.chooseSequenceFor(prompt.tokens, free), priority);
      stream.markStarted();
      try {
        const evaluationStartedAt = performance.now();
        await this.savedStates.prepare(lease.item, prompt.tokens);
        const predictor = lease.item.tokenPredictor;
        if (predictor instanceof SwitchableTokenPredictor) predictor.setEnabled(speculate);
        const predictionsBefore = lease.item.tokenPredictions;
        const meterBefore = lease.item.tokenMeter.getState();
        let firstTokenAt: number | undefined;
        let completionTokens = 0;
        let reasoningTokens = 0;
        let reasoningText = "";
        let pendingTokens = 0;
        const sampling = toLlamaSamplingOptions(options, () => this.eogTokens(), this.model);
        const { text, stopReason, stopSequence, toolCalls } = await steps.run(lease.item, {
          ...sampling,
          maxTokens,
          signal: abortSignal,
          stopOnAbortSignal: true,
          onToken: (tokens) => {
            firstTokenAt ??= performance.now();
            completionTokens += tokens.length;
            pendingTokens += tokens.length;
          },
          onTextChunk: (chunk) => {
            stream.push({ text: chunk, tokenCount: pendingTokens });
            pendingTokens = 0;
          },
          onToolCallDelta: (toolCall) => {
            stream.push({ text: "", tokenCount: pendingTokens, toolCall });
            pendingTokens = 0;
          },
          onThoughtChunk: (tokens, chunk) => {
            if (tokens.length > 0) firstTokenAt ??= performance.now();
            completionTokens += tokens.length;
            reasoningTokens += tokens.length;
            if (chunk === "" && tokens.length === 0) return;
            reasoningText += chunk;
            stream.push({ text: "", ...(chunk ? { reasoning: chunk } : {}), tokenCount: tokens.length + pendingTokens });
            pendingTokens = 0;
          },
        }, grammar);
        if (reasoningTokens > 0) {
          // node-llama-cpp does not report the tokens that close a thought (`</think>` and the
          // blank line after it): the sequence's growth counts every token the reply added
          // (but its last), and the unreported ones belong to the thinking (unless there were
          // tool calls, whose syntax is not reported either).
          const added = lease.item.nextTokenIndex - prompt.tokens.length;
          if (added > completionTokens) {
            if (!toolCalls?.length) reasoningTokens += added - completionTokens;
            completionTokens = added;
          }
        }
        const speculation = speculate ? predictionStats(predictionsBefore, lease.item.tokenPredictions) : undefined;
        // Checked drafts are metered as input too: they are not prompt tokens.
        const metered = lease.item.tokenMeter.diff(meterBefore);
        const cachedPromptTokens = this.countPromptReuse(prompt.tokens.length, { ...metered, usedInputTokens: metered.usedInputTokens - (speculation?.draftedTokens ?? 0) });
        const endedAt = performance.now();
        const decodeMs = firstTokenAt === undefined ? 0 : endedAt - firstTokenAt;
        const result: GenerationResult = {
          text,
          ...(reasoningText ? { reasoning: reasoningText } : {}),
          finishReason: abortSignal.aborted ? "abort" : toFinishReason(stopReason),
          ...(stopSequence !== undefined && !abortSignal.aborted ? { stopSequence } : {}),
          ...(toolCalls && toolCalls.length > 0 && !abortSignal.aborted ? { toolCalls } : {}),
          usage: {
            promptTokens,
            completionTokens,
            ...(reasoningTokens > 0 ? { reasoningTokens } : {}),
            ...(cachedPromptTokens !== undefined ? { cachedPromptTokens } : {}),
          },
          ...(speculation ? { speculation } : {}),
          timings: {
            promptMs: (firstTokenAt ?? endedAt) - evaluationStartedAt,
            firstTokenMs: (firstTokenAt ?? endedAt) - calledAt,
            decodeTokensPerSecond: completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
          },
        };
        stream.end(result);
      } finally {
        lease.release();
      }
    })().catch((error: unknown) => stream.fail(toMardukError(error)));

    this.running.add(task);
    void task.finally(() => this.running.delete(task));
    return stream;
  }

  /**
   * Embeds texts with the model. Many texts share llama.cpp evaluations through the
   * {@link BatchEmbedder} (created on first use); a text longer than its batch, or every text
   * when the batched binding is not available, goes through node-llama-cpp's embedding context
   * one at a time. Both give the same vectors. Calls run one at a time; each text must fit in
   * the context.
   */
  embed(inputs: readonly EmbeddingInput[], { signal, priority }: EncoderCallOptions = {}): Promise<EmbeddingResult> {
    return this.inEncoderTurn(signal, priority, async () => {
      // Usage counts the input's own tokens; the beginning and end tokens added to evaluate it are not the client's.
      let promptTokens = 0;
      const texts = inputs.map((input, index) => {
        const inputTokens = typeof input === "string" ? this.model.tokenize(input, false) : this.checkedTokenIds(input, `input[${index}]`);
        promptTokens += inputTokens.length;
        const tokens = embeddingInputTokens(this.model, inputTokens);
        if (tokens.length >= this.contextSize) throw new ContextLengthExceededError(tokens.length, 0, this.contextSize).withParam(`input[${index}]`);
        return tokens;
      });
      const { values: embeddings, evaluations } = await this.encodeAll(texts, await this.batchEncoder("embedding"), signal, (vector) => vector, async (index) => {
        this.embeddingContext ??= this.model.createEmbeddingContext({ contextSize: this.contextSize, threads: this.threads });
        return [...(await (await this.embeddingContext).getEmbeddingFor(texts[index]!)).vector];
      });
      return { embeddings, promptTokens, evaluations };
    });
  }

  /** Runs `work` once this model's embedding turn is free (see {@link encoderTurn}); unloading waits for it. */
  private inEncoderTurn<T>(signal: AbortSignal | undefined, priority: RequestPriority | undefined, work: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new AbortedError("The model is being unloaded"));
    const task = (async () => {
      const lease = await this.encoderTurn.acquire(signal, undefined, priority);
      try {
        if (this.disposed) throw new AbortedError("The model is being unloaded");
        return await work();
      } finally {
        lease.release();
      }
    })();
    this.running.add(task);
    void task.catch(() => undefined).finally(() => this.running.delete(task));
    return task;
  }

  /**
   * Evaluates texts (as encoderInputs.ts prepares them) with the batched encoder where they fit,
   * one evaluation's worth per call so that an abort stops between evaluations, and the rest
   * (too long for a batch, or every text without the encoder) one at a time with `alone`.
   * Values come back in the texts' order.
   */
  private async encodeAll<T>(
    texts: readonly Token[][],
    encoder: BatchEmbedder | undefined,
    signal: AbortSignal | undefined,
    fromVector: (vector: number[]) => T,
    alone: (index: number) => Promise<T>,
  ): Promise<{ values: T[]; evaluations: number }> {
    const values = new Array<T>(texts.length);
    let evaluations = 0;
    const fits = (index: number): boolean => encoder !== undefined && texts[index]!.length > 0 && texts[index]!.length <= encoder.batchTokens;
    const batchable = [...texts.keys()].filter(fits);
    for (let start = 0; encoder && start < batchable.length; start += encoder.sequences) {
      if (signal?.aborted) throw new AbortedError();
      const indices = batchable.slice(start, start + encoder.sequences);
      const batch = await encoder.embed(indices.map((index) => texts[index]!));
      evaluations += batch.evaluations;
      indices.forEach((index, position) => (values[index] = fromVector(batch.vectors[position]!)));
    }
    for (const index of [...texts.keys()].filter((index) => !fits(index))) {
      if (signal?.aborted) throw new AbortedError();
      values[index] = await alone(index);
      evaluations++;
    }
    return { values, evaluations };
  }

  /**
   * The batched encoder of embeddings or of rankings, made on first use; undefined (and why,
   * logged once) when the native binding is not built or turned off, or the model cannot be
   * loaded into it.
   */
  private async batchEncoder(kind: "embedding" | "ranking"): Promise<BatchEmbedder | undefined> {
    let creation = this.batchEncoders.get(kind);
    if (creation === undefined) {
      creation = BatchEmbedder.create({ modelPath: this.path, gpuLayers: this.model.gpuLayers, contextSize: this.contextSize, threads: this.threads, ranking: kind === "ranking" });
      creation.catch((error: Error) => {
        this.logger?.info({ reason: error.message }, `${kind}s run one text at a time through node-llama-cpp (not batched)`);
      });
      this.batchEncoders.set(kind, creation);
    }
    return creation.catch(() => undefined);
  }

  /**
   * Scores each document's relevance to the query with the model's ranking head (a separate
   * ranking context, created on first use; calls take the embedding turn, one at a time).
   * @throws InvalidArgumentError (param `model`) when the model is not a reranker
   */
  rerank(query: string, documents: readonly string[], { signal, priority }: EncoderCallOptions = {}): Promise<RerankResult> {
    return this.inEncoderTurn(signal, priority, async () => {
      this.rankingContext ??= this.model.createRankingContext({ contextSize: this.contextSize, threads: this.threads }).catch(() => {
        this.rankingContext = undefined;
        // node-llama-cpp refuses models without a ranking head (cls.weight / cls.output.weight).
        throw new InvalidArgumentError(`'${this.id}' is not a reranking model`, "model");
      });
      const context = await this.rankingContext;
      const texts = documents.map((document, index) => {
        const tokens = rankingInputTokens(this.model, query, document);
        if (tokens.length >= context.contextSize) throw new ContextLengthExceededError(tokens.length, 0, context.contextSize).withParam(`documents[${index}]`);
        return tokens;
      });
      const promptTokens = texts.reduce((sum, tokens) => sum + tokens.length, 0);
      // Only once node-llama-cpp accepted the model as a reranker: llama.cpp aborts on a ranking context without a ranking head.
      const { values: scores, evaluations } = await this.encodeAll(
        texts,
        await this.batchEncoder("ranking"),
        signal,
        (vector) => rankingScore(this.model, vector[0] ?? 0),
        (index) => context.rank(query, documents[index]!),
      );
      return { scores, promptTokens, evaluations };
    });
  }

  /**
   * Token ids a client sent to embed, checked against the vocabulary: llama.cpp must never see
   * an id outside it. @throws InvalidArgumentError
   */
  private checkedTokenIds(ids: readonly number[], param: string): Token[] {
    const info = this.model.fileInfo;
    const vocabularySize = (info.architectureMetadata as { vocab_size?: number }).vocab_size ?? info.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
    if (ids.length === 0) throw new InvalidArgumentError(`${param} has no token ids`, param);
    const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabularySize);
    if (bad >= 0) throw new InvalidArgumentError(`${param}[${bad}] is not a token id of this model (0 to ${vocabularySize - 1})`, param);
    return [...ids] as Token[];
  }

  /** Which free sequence's cache the prompt continues best (index into `free`, least recently used first). */
  private chooseSequenceFor(prompt: readonly Token[], free: readonly LlamaContextSequence[]): number {
    const tokens = prompt as Token[]; // compareContextTokens only reads it
    return chooseSequence(
      free.map((sequence) => ({ cachedTokens: sequence.nextTokenIndex, sharedPrefix: sequence.compareContextTokens(tokens).firstDifferentIndex })),
    );
  }

  /**
   * Every prompt token but the last is metered as "input" and the last as "output" (its logits
   * are read), as is each generated token fed back; so input + 1 prompt tokens were evaluated.
   */
  private countPromptReuse(promptTokens: number, used: { usedInputTokens: number; usedOutputTokens: number }): number | undefined {
    if (used.usedOutputTokens === 0) return undefined; // aborted before the prompt was evaluated
    const reused = Math.max(0, promptTokens - (used.usedInputTokens + 1));
    this.promptCounts.requests++;
    this.promptCounts.promptTokens += promptTokens;
    this.promptCounts.reusedPromptTokens += reused;
    return reused;
  }


  private eogTokens(): Token[] {
    this.endOfGenerationTokens ??= findEndOfGenerationTokens(this.model);
    return this.endOfGenerationTokens;
  }

  /** Refuses new work, waits for running generations to stop, then frees the context and weights. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
    this.encoderTurn.dispose();
    this.sequenceListeners.clear();
    this.unloading.abort();
    await Promise.allSettled([...this.running]);
    for (const creation of this.batchEncoders.values()) (await creation.catch(() => undefined))?.dispose();
    const embeddingContext = await this.embeddingContext?.catch(() => undefined);
    if (embeddingContext && !embeddingContext.disposed) await embeddingContext.dispose();
    const rankingContext = await this.rankingContext?.catch(() => undefined);
    if (rankingContext && !rankingContext.disposed) await rankingContext.dispose();
    await this.savedStates.dispose();
    if (!this.context.disposed) await this.context.dispose();
    if (this.draft && !this.draft.context.disposed) await this.draft.context.dispose();
    if (this.draft && !this.draft.model.disposed) await this.draft.model.dispose();
    if (!this.model.disposed) await this.model.dispose();
  }
}
