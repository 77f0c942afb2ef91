import type { EngineBuildInfo, EngineStatus } from "../../shared/contract/engine.js";
import type { EngineBuilder } from "./EngineBuilder.js";
import { describeRecordedBuild } from "./localBuildRecord.js";

/** The engine's status for the contract and `marduk-local engine status`. */
export async function readEngineStatus(builder: EngineBuilder, current: EngineBuildInfo): Promise<EngineStatus> {
  const [record, toolchains, cannotBuildReason] = await Promise.all([builder.recorded(), builder.toolchains(), builder.cannotBuildReason()]);
  const progress = builder.progress;
  return {
    current,
    ...(record ? { localBuild: { builtAt: record.builtAt, gpu: record.gpu, llamaCppRelease: record.llamaCppRelease, ...describeRecordedBuild(record) } } : {}),
    ...(progress ? { build: progress } : {}),
    canBuild: cannotBuildReason === undefined,
    ...(cannotBuildReason ? { cannotBuildReason } : {}),
    toolchains,
    // The runtime of this process, or a model already loaded, keeps the build it started with.
    restartNeeded: builder.builtHere || (current.source === "runtime" && record !== undefined && current.kind === "prebuilt" && current.fallbackReason === undefined),
  };
}
