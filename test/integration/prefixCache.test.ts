import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoadedModel } from "../../src/core/engine/LoadedModel.js";
import type { SequenceStateStoreOptions } from "../../src/core/engine/SequenceStateStore.js";
import type { ChatMessage } from "../../src/shared/api/generation.js";
import { getBenchModelPath, getFixtureModelPath, TINY_BENCH_SHAPE } from "../fixtures/gguf/index.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

let testCore: TestCore;
let stateDir: string;
const models: LoadedModel[] = [];

beforeAll(() => {
  testCore = createTestCore();
  stateDir = mkdtempSync(path.join(os.tmpdir(), "marduk-prefix-test-"));
});
afterAll(async () => {
  await Promise.all(models.map((model) => model.dispose()));
  await testCore?.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

/** A LoadedModel built as the engine builds it, with state-store options the engine does not expose. */
async function load(modelPath: string, parallel: number, store: SequenceStateStoreOptions): Promise<LoadedModel> {
  const { llama, threads } = await testCore.core.runtime();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 2048, sequences: parallel, threads });
  const stats = { loadMs: 0, modelBytes: model.size, contextBytes: context.stateSize, rssDeltaBytes: 0 };
  const loaded = new LoadedModel("test", modelPath, model, context, threads, stats, {}, { dir: stateDir, ...store });
  models.push(loaded);
  return loaded;
}

/** Distinct first messages of ~100 tokens (the fixture's vocabulary is mostly single letters). */
const opening = (index: number): string => `conversation ${index}: ` + "abcdefghij".repeat(8).split("").reverse().slice(index).join("");
const followUp = (turn: number): string => `turn ${turn}, tell me more about that`;

interface Turn {
  conversation: number;
  promptTokens: number;
  reusedPromptTokens: number;
  previousPromptTokens: number;
  text: string;
}

/** Runs `conversations` chats of `turns` turns, one request at a time, round-robin. */
async function interleave(model: LoadedModel, conversations: number, turns: number): Promise<{ turns: Turn[]; histories: ChatMessage[][] }> {
  const histories: ChatMessage[][] = Array.from({ length: conversations }, (_, index) => [{ role: "user", content: opening(index) }]);
  const lastPrompt = new Array<number>(conversations).fill(0);
  const done: Turn[] = [];
  for (let turn = 1; turn <= turns; turn++) {
    for (let conversation = 0; conversation < conversations; conversation++) {
      const history = histories[conversation]!;
      if (turn > 1) history.push({ role: "user", content: followUp(turn) });
      const before = model.promptCache;
      const result = await model.chat(history, { temperature: 0, maxTokens: 12 }).collect();
      const after = model.promptCache;
      // The usage a client sees (OpenAI's cached_tokens) is the same count.
      expect(result.usage.cachedPromptTokens).toBe(after.reusedPromptTokens - before.reusedPromptTokens);
      done.push({
        conversation,
        promptTokens: after.promptTokens - before.promptTokens,
        reusedPromptTokens: after.reusedPromptTokens - before.reusedPromptTokens,
        previousPromptTokens: lastPrompt[conversation]!,
        text: result.text,
      });
      lastPrompt[conversation] = after.promptTokens - before.promptTokens;
      history.push({ role: "assistant", content: result.text });
    }
  }
  return { turns: done, histories };
}

/** Each conversation's last request answered on a fresh sequence, with nothing reused. */
async function coldAnswers(modelPath: string, histories: ChatMessage[][]): Promise<string[]> {
  const cold = await load(modelPath, histories.length, { maxStates: 0 });
  const answers: string[] = [];
  // One at a time: llama.cpp's sums can differ in the last bits when sequences share a batch.
  for (const history of histories) answers.push((await cold.chat(history.slice(0, -1), { temperature: 0, maxTokens: 12 }).collect()).text);
  expect(cold.promptCache.reusedPromptTokens).toBe(0);
  return answers;
}

const lastTurns = (turns: Turn[], conversations: number): Turn[] => turns.slice(-conversations);

describe("prefix-aware sequences (fixture model, parallel 2)", () => {
  const modelPath = getFixtureModelPath;

  it("two interleaved conversations each continue their own sequence", async () => {
    const model = await load(await modelPath(), 2, { maxStates: 0 });
    const { turns, histories } = await interleave(model, 2, 3);
    for (const turn of turns.slice(2)) {
      // Everything the previous request evaluated is still there.
      expect(turn.reusedPromptTokens).toBeGreaterThanOrEqual(turn.previousPromptTokens);
    }
    expect(lastTurns(turns, 2).map((turn) => turn.text)).toEqual(await coldAnswers(await modelPath(), histories));
  });

  it("four conversations on two sequences get their caches back from disk", async () => {
    const model = await load(await modelPath(), 2, { minTokens: 16 });
    const { turns, histories } = await interleave(model, 4, 3);
    for (const turn of turns.slice(4)) {
      expect(turn.reusedPromptTokens).toBeGreaterThanOrEqual(turn.previousPromptTokens);
    }
    const { states } = model.promptCache;
    expect(states.restored).toBe(8);
    expect(states.failures).toBe(0);
    expect(lastTurns(turns, 4).map((turn) => turn.text)).toEqual(await coldAnswers(await modelPath(), histories));
  });

  it("a completion continues the sequence holding its prompt", async () => {
    const model = await load(await modelPath(), 2, { maxStates: 0 });
    const reused = async (prompt: string): Promise<number> => {
      const before = model.promptCache.reusedPromptTokens;
      await model.complete(prompt, { temperature: 0, maxTokens: 4 }).collect();
      return model.promptCache.reusedPromptTokens - before;
    };
    const first = `${opening(0)} and`;
    await reused(first);
    await reused(opening(1));
    expect(await reused(`${first} then`)).toBeGreaterThanOrEqual(first.length);
    // The other sequence is the least recently used now: only the prefix match finds this one.
    expect(await reused(`${first} then some more`)).toBeGreaterThanOrEqual(first.length);
  });

  it("without the state store, a third conversation evicts the least recently used one", async () => {
    const model = await load(await modelPath(), 2, { maxStates: 0 });
    const { turns } = await interleave(model, 3, 2);
    // Turn 2: every conversation's sequence was taken by the one two requests later.
    for (const turn of turns.slice(3)) expect(turn.reusedPromptTokens).toBeLessThan(turn.previousPromptTokens / 2);
  });

  it("concurrent interleaved conversations answer as a cold run does", async () => {
    const model = await load(await modelPath(), 2, { minTokens: 16 });
    const histories: ChatMessage[][] = Array.from({ length: 4 }, (_, index) => [{ role: "user", content: opening(index) }]);
    for (let turn = 1; turn <= 3; turn++) {
      await Promise.all(
        histories.map(async (history) => {
          if (turn > 1) history.push({ role: "user", content: followUp(turn) });
          const result = await model.chat(history, { temperature: 0, maxTokens: 12 }).collect();
          history.push({ role: "assistant", content: result.text });
        }),
      );
    }
    expect(model.promptCache.states.failures).toBe(0);
    expect(histories.map((history) => history.at(-1)!.content)).toEqual(await coldAnswers(await modelPath(), histories));
  });
});

// The random-weight bench model answers according to the whole context, so a wrong cache
// changes its output. Its logits are near ties, so a cache evaluated in other batch splits
// than a cold run may differ in the last bits and flip a token: the reference is therefore
// the same conversations with every cache still live (4 sequences), not a cold run.
describe("prefix-aware sequences (tiny bench model)", () => {
  it("a state restored from disk continues exactly as the live cache would have", async () => {
    const modelPath = await getBenchModelPath({ ...TINY_BENCH_SHAPE, type: "q8_0" });
    const restoring = await load(modelPath, 2, { minTokens: 16 });
    const live = await load(modelPath, 4, { maxStates: 0 });
    const fromDisk = await interleave(restoring, 4, 3);
    const allLive = await interleave(live, 4, 3);
    expect(restoring.promptCache.states.restored).toBe(8);
    expect(live.promptCache.states.saved).toBe(0);
    expect(fromDisk.turns.map((turn) => turn.text)).toEqual(allLive.turns.map((turn) => turn.text));
    // In the first round the two sequences also share the "conversation " preamble; later, the same reuse.
    const reuse = (turns: Turn[]) => turns.slice(4).map((turn) => turn.reusedPromptTokens);
    expect(reuse(fromDisk.turns)).toEqual(reuse(allLive.turns));
  });
});

describe("state files", () => {
  it("are removed when the model is disposed", async () => {
    const model = await load(await getFixtureModelPath(), 1, { minTokens: 8 });
    await interleave(model, 2, 2);
    expect(model.promptCache.states.files).toBeGreaterThan(0);
    expect(readdirSync(stateDir).length).toBeGreaterThan(0);
    await model.dispose();
    for (const other of models) if (other !== model) await other.dispose();
    expect(readdirSync(stateDir)).toEqual([]);
  });
});
