import { createStore, type StoreApi } from "zustand/vanilla";
import type { EngineBuildInfo, EngineBuildProgress, EngineStatus, MardukApi } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";
import { liveData } from "../../lib/liveData.js";

export interface EngineState {
  status: EngineStatus | null;
  /** The running build, or the last one, kept current by progress events. */
  build: EngineBuildProgress | null;
  busy: boolean;
  error: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  startBuild(): Promise<void>;
  cancelBuild(): Promise<void>;
  clearError(): void;
}

export type EngineStore = StoreApi<EngineState>;

/** True while a build runs. */
export function isBuildRunning(build: EngineBuildProgress | null | undefined): boolean {
  return build !== null && build !== undefined && build.endedAt === undefined;
}

/** "Local build · CPU · native · OpenMP · llama.cpp v0.4.0": the engine line of the Server screen. */
export function describeEngine(build: EngineBuildInfo): string {
  const gpu = build.gpu === "auto" ? "best GPU found, else CPU" : build.gpu === "cpu" ? "CPU" : build.gpu.toUpperCase();
  return [build.kind === "local" ? "Local build" : "Prebuilt binary", gpu, build.native ? "native" : "generic CPU code", build.openmp ? "OpenMP" : "no OpenMP", `llama.cpp ${build.llamaCppRelease}`].join(" · ");
}

/** The engine feature: which llama.cpp build runs, and building one for this machine. */
export function createEngineStore(api: MardukApi): EngineStore {
  return createStore<EngineState>()((set, get) => ({
    status: null,
    build: null,
    busy: false,
    error: null,

    ...liveData(set, {
      subscribe: () =>
        api.engine.onProgress((build) => {
          set({ build });
          // A build that ended changes what is on record: read the status again.
          if (build.endedAt !== undefined) void get().refresh();
        }),
      load: async () => {
        const status = await api.engine.status();
        set((state) => ({ status, build: status.build ?? state.build }));
      },
    }),

    async startBuild() {
      set({ busy: true, error: null });
      try {
        const started = await api.engine.startBuild({});
        // Progress events may have overtaken the answer.
        set((state) => (state.build?.id === started.id && state.build.percent >= started.percent ? {} : { build: started }));
      } catch (error) {
        set({ error: errorMessage(error) });
      } finally {
        set({ busy: false });
      }
    },

    async cancelBuild() {
      try {
        await api.engine.cancelBuild();
      } catch (error) {
        set({ error: errorMessage(error) });
      }
    },

    clearError() {
      set({ error: null });
    },
  }));
}
