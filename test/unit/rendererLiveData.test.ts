import { describe, expect, it } from "vitest";
import { createStore } from "zustand/vanilla";
import { liveData, type LiveData } from "../../src/renderer/src/lib/liveData.js";

interface CountState extends LiveData {
  count: number;
  error: string | null;
}

function countStore(read: () => Promise<number>) {
  const listeners = new Set<(count: number) => void>();
  const store = createStore<CountState>()((set) => ({
    count: 0,
    error: null,
    ...liveData(set, {
      subscribe: () => {
        const listener = (count: number): void => set({ count });
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      load: async () => set({ count: await read() }),
    }),
  }));
  return { store, listeners, emit: (count: number) => listeners.forEach((listener) => listener(count)) };
}

describe("live data of a store", () => {
  it("subscribes once, reads the data and follows the events until disposed", async () => {
    const { store, listeners, emit } = countStore(() => Promise.resolve(3));
    await store.getState().init();
    await store.getState().init();
    expect(store.getState().count).toBe(3);
    expect(listeners.size).toBe(1);
    emit(5);
    expect(store.getState().count).toBe(5);

    store.getState().dispose();
    expect(listeners.size).toBe(0);
    emit(7);
    expect(store.getState().count).toBe(5);
    await store.getState().init();
    expect(listeners.size).toBe(1);
  });

  it("shows a failed read as the store's error instead of throwing", async () => {
    const { store } = countStore(() => Promise.reject(new Error("core unreachable")));
    await expect(store.getState().refresh()).resolves.toBeUndefined();
    expect(store.getState()).toMatchObject({ count: 0, error: "core unreachable" });
  });
});
