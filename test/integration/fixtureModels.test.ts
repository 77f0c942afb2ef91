/**
 * The generated GGUF models load in the real node-llama-cpp and behave as designed:
 * the fixture model's greedy output is known exactly, bench models decode valid text,
 * and broken files fail to load with an error instead of crashing the process.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {setTimeout as delay} from "node:timers/promises";
import {afterAll, beforeAll, describe, expect, it} from "vitest";
import {
    getLlama, LlamaChatSession, LlamaCompletion, LlamaLogLevel, type Llama, type LlamaModel, type Token
} from "node-llama-cpp";
import {
    FIXTURE_SENTENCE, FIXTURE_TOKENS, TINY_BENCH_SHAPE, getBenchModelPath, getFixtureModelPath,
    writeNotGguf, writeTruncatedGguf
} from "../fixtures/gguf/index.js";

// This machine has 2 cores; more than one thread per context is dramatically slower.
const THREADS = 1;

describe("generated GGUF models", () => {
    let llama: Llama;
    let tempDir: string;

    beforeAll(async () => {
        llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
        tempDir = await fs.mkdtemp(path.join(os.tmpdir(), "marduk-gguf-"));
    });

    afterAll(async () => {
        // node-llama-cpp 3.21.1 leaks a disposal-prevention handle when llama.cpp itself rejects
        // a file (the truncated-file test below): once GC collects the half-built model,
        // `llama.dispose()` never resolves. Everything else is disposed already and the worker
        // exits after the file, so wait briefly instead of hanging until the hook timeout.
        if (llama != null)
            await Promise.race([llama.dispose(), delay(1000, undefined, {ref: false})]);

        if (tempDir != null)
            await fs.rm(tempDir, {recursive: true, force: true});
    });

    describe("fixture model", () => {
        let model: LlamaModel;

        beforeAll(async () => {
            model = await llama.loadModel({modelPath: await getFixtureModelPath()});
        });

        afterAll(async () => {
            await model?.dispose();
        });

        it("continues a raw prompt with the sentence, then stops on the end-of-generation token", async () => {
            const context = await model.createContext({contextSize: 256, threads: THREADS});
            try {
                const completion = new LlamaCompletion({contextSequence: context.getSequence()});
                const generated: Token[] = [];
                const {response, metadata} = await completion.generateCompletionWithMeta("Once upon a time", {
                    temperature: 0,
                    onToken: (tokens) => generated.push(...tokens)
                });

                // The first generated piece is "▁The", but node-llama-cpp drops the leading
                // space of the first token of a response, so there is no leading space.
                expect(response).toBe(FIXTURE_SENTENCE);
                expect(generated).toHaveLength(FIXTURE_TOKENS.length);
                expect(metadata.stopReason).toBe("eogToken");
                completion.dispose();
            } finally {
                await context.dispose();
            }
        });

        it("answers a ChatML chat with exactly the sentence", async () => {
            const context = await model.createContext({contextSize: 256, threads: THREADS});
            try {
                // The default system prompt is ~270 tokens here (most text tokenizes per
                // character), which would not fit a 256-token context.
                const session = new LlamaChatSession({contextSequence: context.getSequence(), systemPrompt: "Be brief."});
                expect(session.chatWrapper.wrapperName).toBe("ChatML");

                expect(await session.prompt("Hi", {temperature: 0})).toBe(FIXTURE_SENTENCE);
                expect(await session.prompt("Again", {temperature: 0})).toBe(FIXTURE_SENTENCE);
                session.dispose();
            } finally {
                await context.dispose();
            }
        });

        it("round-trips text through the tokenizer", () => {
            const text = "The quick brown fox";
            const tokens = model.tokenize(text);
            expect(tokens).toHaveLength(4);
            expect(model.detokenize(tokens)).toBe(text);

            // Word pieces plus single characters: arbitrary ASCII survives too.
            const json = '{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]}}';
            expect(model.detokenize(model.tokenize(json))).toBe(json);

            expect(model.tokenize(FIXTURE_SENTENCE)).toHaveLength(FIXTURE_TOKENS.length);
            expect(model.tokens.eos).not.toBeNull();
            expect(model.detokenize([model.tokens.eos!], true)).toBe("<|im_end|>");
        });
    });

    describe.each(["f16", "q8_0"] as const)("bench model (%s)", (type) => {
        it("loads and decodes 32 tokens of valid UTF-8 without ending", async () => {
            const model = await llama.loadModel({modelPath: await getBenchModelPath({...TINY_BENCH_SHAPE, type})});
            try {
                const context = await model.createContext({contextSize: 256, threads: THREADS});
                try {
                    const completion = new LlamaCompletion({contextSequence: context.getSequence()});
                    const generated: Token[] = [];
                    const {response, metadata} = await completion.generateCompletionWithMeta("Once upon a time", {
                        temperature: 0,
                        maxTokens: 32,
                        onToken: (tokens) => generated.push(...tokens)
                    });

                    expect(generated).toHaveLength(32);
                    expect(metadata.stopReason).toBe("maxTokens");
                    expect(response.length).toBeGreaterThan(0);
                    expect(response).not.toContain("\uFFFD");
                    expect(Buffer.from(response, "utf8").toString("utf8")).toBe(response);
                    completion.dispose();
                } finally {
                    await context.dispose();
                }
            } finally {
                await model.dispose();
            }
        });
    });

    describe("broken files", () => {
        it("rejects a truncated GGUF file with an error", async () => {
            const source = await getFixtureModelPath();
            const {size} = await fs.stat(source);
            const truncated = path.join(tempDir, "truncated.gguf");
            await writeTruncatedGguf(source, truncated, Math.floor(size / 2));

            await expect(llama.loadModel({modelPath: truncated})).rejects.toThrow();
        });

        it("rejects a file that is not GGUF with an error", async () => {
            const notGguf = path.join(tempDir, "not-a-model.gguf");
            await writeNotGguf(notGguf);

            await expect(llama.loadModel({modelPath: notGguf})).rejects.toThrow(/magic/i);
        });
    });
});
