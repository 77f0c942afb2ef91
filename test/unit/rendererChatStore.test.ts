import { describe, expect, it } from "vitest";
import { createChatStore } from "../../src/renderer/src/features/chat/chatStore.js";
import { createFakeMardukApi, createManualScheduler, settle } from "./rendererFakeApi.js";

function setup(options: { defaults?: { modelId?: string; systemPrompt?: string } } = {}) {
  const { api, fake } = createFakeMardukApi();
  const frames = createManualScheduler();
  let clock = 1000;
  const store = createChatStore(api, { scheduler: frames.scheduler, now: () => clock, newConversationDefaults: () => options.defaults ?? {} });
  let updates = 0;
  store.subscribe(() => updates++);
  return {
    api,
    fake,
    frames,
    store,
    state: () => store.getState(),
    tick: (ms: number) => (clock += ms),
    updates: () => updates,
    resetUpdates: () => (updates = 0),
  };
}

async function openConversation(t: ReturnType<typeof setup>, id = "c1") {
  t.fake.addConversation({ id, title: "First", modelId: "m" });
  await t.state().init();
  await t.state().select(id);
}

describe("chat store: conversations", () => {
  it("lists conversations, subscribes, and opens one with its context usage", async () => {
    const t = setup();
    t.fake.addConversation({ id: "c1", title: "Hello", messages: [{ id: "u1", role: "user", content: "hi", createdAt: 1 }] });
    await t.state().init();
    expect(t.state().conversations.map((c) => c.id)).toEqual(["c1"]);
    expect(t.fake.chatEvents.listenerCount).toBe(1);
    expect(t.fake.conversationsChanged.listenerCount).toBe(1);
    await t.state().select("c1");
    await settle();
    expect(t.state().active?.messages).toHaveLength(1);
    expect(t.state().contextUsage).toEqual({ usedTokens: 10, contextSize: 2048 });
    t.state().dispose();
    expect(t.fake.chatEvents.listenerCount).toBe(0);
  });

  it("ignores an older select that answers after a newer one", async () => {
    const t = setup();
    t.fake.addConversation({ id: "a", title: "A" });
    t.fake.addConversation({ id: "b", title: "B" });
    const release = t.fake.hold("conversations.get");
    const first = t.state().select("a");
    release();
    const second = t.state().select("b");
    await Promise.all([first, second]);
    expect(t.state().activeId).toBe("b");
    expect(t.state().active?.id).toBe("b");
  });

  it("creates a conversation with the defaults, renames, exports and removes it", async () => {
    const t = setup({ defaults: { modelId: "default-model", systemPrompt: "Be brief." } });
    await t.state().init();
    const created = await t.state().create();
    expect(created?.modelId).toBe("default-model");
    expect(created?.systemPrompt).toBe("Be brief.");
    expect(t.state().activeId).toBe(created!.id);
    expect(t.state().conversations[0]?.id).toBe(created!.id);

    await t.state().rename(created!.id, "  Renamed  ");
    expect(t.state().conversations[0]?.title).toBe("Renamed");
    expect(t.state().active?.title).toBe("Renamed");
    expect(t.fake.callsOf("conversations.update")).toEqual([{ id: created!.id, title: "Renamed" }]);

    const file = await t.state().exportConversation(created!.id, "markdown");
    expect(file?.mimeType).toBe("text/markdown");

    await t.state().remove(created!.id);
    expect(t.state().conversations).toEqual([]);
    expect(t.state().activeId).toBeNull();
  });

  it("closes the open conversation when it is deleted elsewhere", async () => {
    const t = setup();
    await openConversation(t);
    t.fake.conversations.delete("c1");
    t.fake.conversationsChanged.emit(t.fake.summaries());
    expect(t.state().activeId).toBeNull();
    expect(t.state().active).toBeNull();
  });

  it("updates model, system prompt and settings optimistically, and rolls back on failure", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().setModel("other");
    expect(t.state().active?.modelId).toBe("other");
    expect(t.state().preferredModelId).toBe("other");
    await t.state().updateSettings({ temperature: 0, maxTokens: 50 });
    expect(t.state().active?.settings).toEqual({ temperature: 0, maxTokens: 50 });
    t.fake.failNext("conversations.update");
    await t.state().setSystemPrompt("You are a pirate.");
    expect(t.state().active?.systemPrompt).toBe("");
    expect(t.state().error).toBe("conversations.update failed");
  });
});

describe("chat store: the user's pick wins over late answers", () => {
  it("keeps a model picked while the conversation's fetch is on its way", async () => {
    const t = setup();
    await openConversation(t);
    const deliverFetch = t.fake.holdAnswer("conversations.get");
    // The conversation is read again (a reconnect, a new route) and the user picks a model
    // before that answer arrives; the update is answered first.
    const reading = t.state().select("c1");
    await t.state().setModel("bench");
    expect(t.fake.conversations.get("c1")?.modelId).toBe("bench");
    deliverFetch();
    await reading;
    expect(t.state().active?.modelId).toBe("bench");
    expect(t.state().preferredModelId).toBe("bench");
    expect(await t.state().send("Hi")).toBe(true);
    expect(t.fake.conversations.get("c1")?.modelId).toBe("bench");
  });

  it("a reload read before the pick does not undo it", async () => {
    const t = setup();
    await openConversation(t);
    const deliverFetch = t.fake.holdAnswer("conversations.get");
    // Another window added a message: the store reads the conversation again...
    const stored = t.fake.conversations.get("c1")!;
    stored.messages.push({ id: "u9", role: "user", content: "elsewhere", createdAt: 5 });
    stored.messageCount = stored.messages.length;
    t.fake.conversationsChanged.emit(t.fake.summaries());
    // ...and the user picks a model before that answer arrives.
    await t.state().setModel("bench");
    deliverFetch();
    await settle();
    expect(t.state().active?.messages.map((message) => message.id)).toContain("u9");
    expect(t.state().active?.modelId).toBe("bench");
  });

  it("gives a model picked right after '+ New chat' to the new chat, and sends there", async () => {
    const t = setup({ defaults: { modelId: "fixture" } });
    await openConversation(t, "old");
    const releaseCreate = t.fake.hold("conversations.create");
    const creating = t.state().create();
    expect(t.state().active).toBeNull();
    await t.state().setModel("bench");
    const sending = t.state().send("Hello");
    releaseCreate();
    const created = await creating;
    expect(await sending).toBe(true);
    expect(t.fake.conversations.size).toBe(2);
    expect(t.state().activeId).toBe(created!.id);
    expect(t.state().active?.modelId).toBe("bench");
    expect(t.fake.conversations.get(created!.id)?.modelId).toBe("bench");
    // The old conversation keeps its model; the message went into the new one.
    expect(t.fake.conversations.get("old")?.modelId).toBe("m");
    expect(t.fake.callsOf("chat.send")).toEqual([{ conversationId: created!.id, content: "Hello" }]);
    const calls = t.fake.calls.map((call) => call.method);
    expect(calls.lastIndexOf("conversations.update")).toBeLessThan(calls.indexOf("chat.send"));
  });

  it("applies the latest of two quick picks, whatever order their answers arrive in", async () => {
    const t = setup();
    await openConversation(t);
    const deliverFirst = t.fake.holdAnswer("conversations.update");
    const first = t.state().setModel("a");
    await t.state().setModel("b");
    expect(t.state().active?.modelId).toBe("b");
    // The first pick's answer (model "a") arrives last.
    deliverFirst();
    await first;
    expect(t.state().active?.modelId).toBe("b");
  });
});

describe("chat store: streaming", () => {
  it("shows the user's message at once and applies deltas once per frame", async () => {
    const t = setup();
    await openConversation(t);
    const sending = t.state().send("Tell me a story");
    // Optimistic: the message and the streaming reply exist before the core answers.
    expect(t.state().active?.messages.map((m) => m.content)).toEqual(["Tell me a story"]);
    expect(t.state().streaming).toMatchObject({ conversationId: "c1", text: "" });
    expect(await sending).toBe(true);
    const generation = t.fake.generations[0]!;
    expect(t.state().streaming?.generationId).toBe(generation.generationId);
    expect(t.state().active?.messages[0]?.id).not.toMatch(/^local:/);

    t.resetUpdates();
    for (const word of ["The", " quick", " brown"]) t.fake.delta(generation, word);
    expect(t.updates()).toBe(0);
    expect(t.state().streaming?.text).toBe("");
    expect(t.frames.waiting).toBe(1);

    t.tick(16);
    t.frames.frame();
    expect(t.updates()).toBe(1);
    expect(t.state().streaming).toMatchObject({ text: "The quick brown", tokenCount: 3, firstTokenAt: 1016, lastTokenAt: 1016 });
  });

  it("keeps up with 2,000 tokens/s: every token arrives, with one store update per frame", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("Go fast");
    const generation = t.fake.generations[0]!;
    t.resetUpdates();
    const expected: string[] = [];
    // One second at 2,000 tokens/s, frames every 16 ms: 2 tokens per ms.
    for (let ms = 1; ms <= 1000; ms++) {
      for (let k = 0; k < 2; k++) {
        const token = ` t${ms * 2 + k}`;
        expected.push(token);
        t.fake.delta(generation, token);
      }
      t.tick(1);
      if (ms % 16 === 0) t.frames.frame();
    }
    t.frames.frame();
    expect(t.state().streaming?.text).toBe(expected.join(""));
    expect(t.state().streaming?.tokenCount).toBe(2000);
    expect(t.updates()).toBeLessThanOrEqual(Math.ceil(1000 / 16) + 1);
    expect(t.updates()).toBeGreaterThan(50);
  });

  it("applies pending deltas before the reply is stored, then shows the stored message", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("Hi");
    const generation = t.fake.generations[0]!;
    t.fake.delta(generation, "Hello");
    t.fake.delta(generation, " there");
    const seen: string[] = [];
    const unsubscribe = t.store.subscribe((state) => seen.push(state.streaming?.text ?? "<none>"));
    t.fake.finish(generation, "Hello there");
    unsubscribe();
    expect(seen[0]).toBe("Hello there");
    expect(t.state().streaming).toBeNull();
    expect(t.state().active?.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "Hi"],
      ["assistant", "Hello there"],
    ]);
    expect(t.frames.frame()).toBe(0);
    await settle();
    expect(t.fake.callsOf("chat.contextUsage").length).toBeGreaterThanOrEqual(2);
  });

  it("keeps a thinking model's thinking apart from its answer while it streams", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("Why?");
    const generation = t.fake.generations[0]!;
    t.fake.thinkingDelta(generation, "Let me ");
    t.fake.thinkingDelta(generation, "think.", 2);
    t.tick(16);
    t.frames.frame();
    // Thinking counts as output (the first token arrived) but is not the answer.
    expect(t.state().streaming).toMatchObject({ text: "", reasoning: "Let me think.", tokenCount: 3, reasoningTokenCount: 3, firstTokenAt: 1016 });

    t.fake.delta(generation, "Because");
    t.fake.delta(generation, ".");
    t.frames.frame();
    expect(t.state().streaming).toMatchObject({ text: "Because.", reasoning: "Let me think.", tokenCount: 5, reasoningTokenCount: 3 });

    t.fake.finish(generation, "Because.", { reasoningTokens: 3 }, "Let me think.");
    expect(t.state().streaming).toBeNull();
    expect(t.state().active?.messages.at(-1)).toMatchObject({ role: "assistant", content: "Because.", reasoning: "Let me think.", stats: { reasoningTokens: 3 } });
  });

  it("starts a new reply with no thinking left from the last one", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("One");
    const first = t.fake.generations[0]!;
    t.fake.thinkingDelta(first, "hmm");
    t.fake.finish(first, "A", {}, "hmm");
    await t.state().send("Two");
    const second = t.fake.generations[1]!;
    t.fake.delta(second, "B");
    t.frames.frame();
    expect(t.state().streaming).toMatchObject({ text: "B", reasoning: "", reasoningTokenCount: 0 });
  });

  it("keeps events that arrive before the core answers send, and never duplicates the reply", async () => {
    const t = setup();
    await openConversation(t);
    const release = t.fake.hold("chat.send");
    const sending = t.state().send("Hi");
    await settle();
    // The core streams and finishes before its answer to send arrives.
    const generation = { generationId: "gen-early", conversationId: "c1", assistantMessageId: "msg-early" };
    t.fake.delta(generation, "Early");
    t.frames.frame();
    expect(t.state().streaming?.text).toBe("Early");
    t.fake.finish(generation, "Early reply");
    expect(t.state().streaming).toBeNull();
    release();
    await sending;
    expect(t.state().streaming).toBeNull();
    const messages = t.state().active!.messages;
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messages.filter((m) => m.content === "Early reply")).toHaveLength(1);
  });

  it("ignores events of other conversations' generations", async () => {
    const t = setup();
    await openConversation(t);
    t.fake.addConversation({ id: "c2" });
    await t.state().send("Hi");
    const mine = t.fake.generations[0]!;
    t.fake.delta({ generationId: "other", conversationId: "c2", assistantMessageId: "x" }, "noise");
    t.fake.delta(mine, "mine");
    t.frames.frame();
    expect(t.state().streaming?.text).toBe("mine");
  });

  it("shows a generation started in another window in the open conversation", async () => {
    const t = setup();
    await openConversation(t);
    t.fake.delta({ generationId: "elsewhere", conversationId: "c1", assistantMessageId: "m9" }, "Hi from afar");
    t.frames.frame();
    expect(t.state().streaming).toMatchObject({ requestId: 0, generationId: "elsewhere", text: "Hi from afar" });
  });

  it("reports a generation error and ends the stream", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("Hi");
    t.fake.fail(t.fake.generations[0]!, "model crashed");
    expect(t.state().streaming).toBeNull();
    expect(t.state().error).toBe("model crashed");
  });

  it("undoes the optimistic message when send fails", async () => {
    const t = setup();
    await openConversation(t);
    t.fake.failNext("chat.send");
    expect(await t.state().send("Hi")).toBe(false);
    expect(t.state().active?.messages).toEqual([]);
    expect(t.state().streaming).toBeNull();
    expect(t.state().error).toBe("chat.send failed");
  });

  it("creates a conversation when sending with none open", async () => {
    const t = setup({ defaults: { modelId: "m" } });
    await t.state().init();
    expect(await t.state().send("First message")).toBe(true);
    expect(t.state().activeId).toMatch(/^conv-/);
    expect(t.fake.callsOf("chat.send")).toEqual([{ conversationId: t.state().activeId, content: "First message" }]);
  });

  it("refuses a second send while a reply streams", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("One");
    expect(await t.state().send("Two")).toBe(false);
    expect(t.fake.callsOf("chat.send")).toHaveLength(1);
  });
});

describe("chat store: stop, regenerate, edit", () => {
  it("stops a generation by its id", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("Hi");
    const generation = t.fake.generations[0]!;
    await t.state().stopGeneration();
    expect(t.state().streaming?.stopRequested).toBe(true);
    expect(t.fake.callsOf("chat.stop")).toEqual([{ generationId: generation.generationId }]);
    t.fake.finish(generation, "partial", { finishReason: "abort" });
    expect(t.state().active?.messages.at(-1)?.stats?.finishReason).toBe("abort");
  });

  it("stops as soon as the id is known when Stop is pressed first", async () => {
    const t = setup();
    await openConversation(t);
    const release = t.fake.hold("chat.send");
    const sending = t.state().send("Hi");
    await t.state().stopGeneration();
    expect(t.fake.callsOf("chat.stop")).toEqual([]);
    release();
    await sending;
    await settle();
    expect(t.fake.callsOf("chat.stop")).toEqual([{ generationId: t.fake.generations[0]!.generationId }]);
  });

  it("regenerates: drops the last reply at once and streams a new one", async () => {
    const t = setup();
    t.fake.addConversation({
      id: "c1",
      messages: [
        { id: "u1", role: "user", content: "Hi", createdAt: 1 },
        { id: "a1", role: "assistant", content: "Old", createdAt: 1 },
      ],
    });
    await t.state().init();
    await t.state().select("c1");
    expect(await t.state().regenerate()).toBe(true);
    expect(t.state().active?.messages.map((m) => m.id)).toEqual(["u1"]);
    const generation = t.fake.generations[0]!;
    t.fake.delta(generation, "New");
    t.fake.finish(generation, "New");
    expect(t.state().active?.messages.map((m) => m.content)).toEqual(["Hi", "New"]);
  });

  it("restores the old reply when regenerate fails", async () => {
    const t = setup();
    t.fake.addConversation({
      id: "c1",
      messages: [
        { id: "u1", role: "user", content: "Hi", createdAt: 1 },
        { id: "a1", role: "assistant", content: "Old", createdAt: 1 },
      ],
    });
    await t.state().init();
    await t.state().select("c1");
    t.fake.failNext("chat.regenerate");
    expect(await t.state().regenerate()).toBe(false);
    expect(t.state().active?.messages.map((m) => m.id)).toEqual(["u1", "a1"]);
  });

  it("edits a user message, drops what followed it, and generates again", async () => {
    const t = setup();
    t.fake.addConversation({
      id: "c1",
      messages: [
        { id: "u1", role: "user", content: "Hi", createdAt: 1 },
        { id: "a1", role: "assistant", content: "Hello", createdAt: 1 },
        { id: "u2", role: "user", content: "Wrong question", createdAt: 1 },
        { id: "a2", role: "assistant", content: "Answer", createdAt: 1 },
      ],
    });
    await t.state().init();
    await t.state().select("c1");
    expect(await t.state().editAndResend("u2", "Right question")).toBe(true);
    expect(t.state().active?.messages.map((m) => m.content)).toEqual(["Hi", "Hello", "Right question"]);
    expect(t.fake.callsOf("chat.editAndResend")).toEqual([{ conversationId: "c1", messageId: "u2", content: "Right question" }]);
    expect(t.state().streaming).not.toBeNull();
  });

  it("refuses to edit an assistant message", async () => {
    const t = setup();
    t.fake.addConversation({ id: "c1", messages: [{ id: "a1", role: "assistant", content: "Hello", createdAt: 1 }] });
    await t.state().init();
    await t.state().select("c1");
    expect(await t.state().editAndResend("a1", "x")).toBe(false);
  });

  it("reads the conversation again after a reconnect, dropping a stream that was cut", async () => {
    const t = setup();
    await openConversation(t);
    await t.state().send("Hi");
    t.fake.finish(t.fake.generations[0]!, "Stored while offline");
    // Simulate the done event being lost: the store still streams.
    t.store.setState({ streaming: { requestId: 9, conversationId: "c1", text: "partial", reasoning: "", tokenCount: 1, reasoningTokenCount: 0, startedAt: 0, stopRequested: false } });
    await t.state().refresh();
    expect(t.state().streaming).toBeNull();
    expect(t.state().active?.messages.at(-1)?.content).toBe("Stored while offline");
  });
});

describe("chat store: versions, retry, defaults and presets", () => {
  it("regenerate shows 2/2; switching back shows the old reply (1/2)", async () => {
    const t = setup();
    const first = { id: "a1", role: "assistant" as const, content: "Old reply", createdAt: 2 };
    t.fake.addConversation({ id: "c1", title: "First", modelId: "m", messages: [{ id: "u1", role: "user", content: "hi", createdAt: 1 }, first] });
    await t.state().init();
    await t.state().select("c1");
    expect(await t.state().regenerate()).toBe(true);
    const generation = t.fake.generations.at(-1)!;
    const reply = t.fake.finish(generation, "New reply");
    // The core answers the new version with its siblings.
    t.state().active!.messages.at(-1)!.versionIds = [first.id, reply.id];
    const shown = t.state().active!.messages.at(-1)!;
    expect([shown.content, shown.versionIds!.indexOf(shown.id) + 1, shown.versionIds!.length]).toEqual(["New reply", 2, 2]);

    t.fake.versionViews.set("a1", [{ id: "u1", role: "user", content: "hi", createdAt: 1 }, { ...first, versionIds: ["a1", reply.id] }]);
    await t.state().selectVersion("a1");
    const old = t.state().active!.messages.at(-1)!;
    expect([old.content, old.versionIds!.indexOf(old.id) + 1]).toEqual(["Old reply", 1]);
    expect(t.fake.callsOf("conversations.selectVersion")).toEqual([{ conversationId: "c1", messageId: "a1" }]);
  });

  it("a failed send shows the message as failed; Retry answers it without a second copy", async () => {
    const t = setup();
    await openConversation(t);
    const sendsBefore = t.state().sendSerial;
    expect(await t.state().send("Hello?")).toBe(true);
    expect(t.state().sendSerial).toBe(sendsBefore + 1);
    // The core marks the unanswered message failed, then reports the error.
    t.fake.conversation("c1").messages.at(-1)!.status = "failed";
    t.fake.fail(t.fake.generations.at(-1)!, "The model was unloaded");
    await settle();
    expect(t.state().error).toBe("The model was unloaded");
    expect(t.state().active!.messages.map((message) => [message.content, message.status])).toEqual([["Hello?", "failed"]]);

    expect(await t.state().retry()).toBe(true);
    expect(t.fake.callsOf("chat.retry")).toEqual([{ conversationId: "c1" }]);
    expect(t.state().active!.messages.map((message) => [message.content, message.status])).toEqual([["Hello?", undefined]]);
    t.fake.finish(t.fake.generations.at(-1)!, "Hi!");
    expect(t.state().active!.messages.map((message) => message.content)).toEqual(["Hello?", "Hi!"]);
    expect(t.state().sendSerial).toBe(sendsBefore + 2);
  });

  it("deletes a failed message", async () => {
    const t = setup();
    t.fake.addConversation({ id: "c1", title: "First", modelId: "m", messages: [{ id: "u1", role: "user", content: "lost", createdAt: 1, status: "failed" }] });
    await t.state().init();
    await t.state().select("c1");
    await t.state().deleteMessage("u1");
    expect(t.state().active!.messages).toEqual([]);
  });

  it("shows where each setting comes from, and saves model and app defaults", async () => {
    const t = setup();
    t.fake.settings = { ...t.fake.settings, defaultChatSettings: { temperature: 0.3 } };
    await openConversation(t);
    await settle();
    expect(t.state().resolved?.sources).toEqual({ contextOverflow: "builtIn", temperature: "app" });
    expect(await t.state().saveDefaults("model", { temperature: 0.6 }, "Model prompt")).toBe(true);
    expect(t.fake.callsOf("settings.setModelDefaults")).toEqual([{ modelId: "m", settings: { temperature: 0.6 }, systemPrompt: "Model prompt" }]);
    expect(t.state().resolved).toMatchObject({ settings: { temperature: 0.6 }, sources: { temperature: "model" }, defaultSystemPrompt: "Model prompt" });
    await t.state().updateSettings({ temperature: 1 });
    await settle();
    expect(t.state().resolved?.sources.temperature).toBe("conversation");
    expect(await t.state().saveDefaults("app", { topK: 5 }, "App prompt")).toBe(true);
    expect(t.fake.settings).toMatchObject({ defaultChatSettings: { topK: 5 }, defaultSystemPrompt: "App prompt" });
  });

  it("saves a preset, applies it before the first message (a new chat) and to an open chat, and deletes it", async () => {
    const t = setup();
    await t.state().init();
    expect(await t.state().savePreset("Precise", { temperature: 0.1 }, "Be exact.")).toBe(true);
    expect(t.state().presets.map((preset) => preset.name)).toEqual(["Precise"]);
    expect(await t.state().applyPreset("Precise")).toBe(true);
    expect(t.state().active).toMatchObject({ settings: { temperature: 0.1 }, systemPrompt: "Be exact." });

    await t.state().updateSettings({ topK: 3 });
    expect(await t.state().applyPreset("Precise")).toBe(true);
    expect(t.state().active?.settings).toEqual({ temperature: 0.1 });
    await t.state().deletePreset("Precise");
    expect(t.state().presets).toEqual([]);
  });
});
