import type { GgufFileInfo, Llama } from "node-llama-cpp";
import type { FitEstimate, MachineResources, ResourceNeeds } from "../../../shared/api/hub.js";
import type { RuntimeLoadOptions } from "../../../shared/api/loadOptions.js";
import { toLlamaLoadOptions } from "../../engine/llamaLoadOptions.js";
import { InvalidArgumentError } from "../../errors.js";
import { validateModelMetadata } from "../library/validateModelMetadata.js";
import { probeMachineResources } from "./machineResources.js";

/**
 * Options of {@link estimateResourceNeeds}. The runtime options change the estimate as they
 * change a load: flash attention, the KV cache types and the batch size the context's share,
 * mmap the weights' (mlock changes nothing). Default: llama.cpp's defaults.
 */
export interface ResourceNeedsOptions extends RuntimeLoadOptions {
  /** Context size per sequence, in tokens. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Sequences of that size (parallel conversations). Default: 1. */
  sequences?: number;
  /**
   * The llama.cpp runtime to simulate with. Default: a slim instance without a backend (no GPU),
   * in which case GPU needs come from node-llama-cpp's tensor-size heuristics.
   */
  llama?: Llama;
}

/** Default context size of an estimate: the training context, at most this. */
export const DEFAULT_ESTIMATE_CONTEXT_SIZE = 4096;

/**
 * Memory a GGUF model needs at a context size, on the CPU only and fully on the GPU, from its
 * header alone (node-llama-cpp's GGUF insights: tensor sizes plus KV cache and compute buffers).
 * @throws InvalidArgumentError for a crafted header, or runtime options the model cannot use
 */
export async function estimateResourceNeeds(fileInfo: GgufFileInfo, options: ResourceNeedsOptions = {}): Promise<ResourceNeeds> {
  // node-llama-cpp's estimate runs parts of llama.cpp's loader, which aborts the process on the
  // bounds a crafted header breaks (a remote file's header from the hub, or `inspect` of a file).
  const unsafe = validateModelMetadata(fileInfo.metadata as unknown as Record<string, unknown>);
  if (unsafe) throw new InvalidArgumentError(`The model cannot be estimated: ${unsafe}`);
  const { GgufInsights, GgmlType } = await import("node-llama-cpp");
  const insights = await GgufInsights.from(fileInfo, options.llama);
  const llamaOptions = toLlamaLoadOptions(options, insights.flashAttentionSupported);
  const weightsOptions = options.useMmap !== undefined ? { useMmap: options.useMmap } : {};
  const contextOptions = {
    kvCacheKeyType: GgmlType[llamaOptions.model.experimentalDefaultContextKvCacheKeyType],
    kvCacheValueType: GgmlType[llamaOptions.model.experimentalDefaultContextKvCacheValueType],
    ...llamaOptions.context,
  };
  const flashAttention = llamaOptions.estimateFlashAttention;
  const trainContext = insights.trainContextSize ?? DEFAULT_ESTIMATE_CONTEXT_SIZE;
  const contextSize = options.contextSize ?? Math.min(trainContext, DEFAULT_ESTIMATE_CONTEXT_SIZE);
  const sequences = options.sequences ?? 1;
  const totalLayers = insights.totalLayers;

  const cpuModel = await insights.estimateModelResourceRequirementsV2({ gpuLayers: 0, ...weightsOptions });
  const cpuContext = await insights.estimateContextResourceRequirementsV2({ contextSize, modelGpuLayers: 0, sequences, flashAttention, ...contextOptions, ...weightsOptions });
  const gpuModel = await insights.estimateModelResourceRequirementsV2({ gpuLayers: totalLayers, ...weightsOptions });
  // Without a GPU backend the simulation keeps the context in RAM; the heuristic splits it as a
  // GPU would, which is what the "fully on the GPU" placement asks ("auto" flash attention counted as off: the larger need).
  const gpuContext =
    options.llama?.gpu
      ? await insights.estimateContextResourceRequirementsV2({ contextSize, modelGpuLayers: totalLayers, sequences, flashAttention, ...contextOptions, ...weightsOptions })
      : insights.estimateContextResourceRequirements({ contextSize, modelGpuLayers: totalLayers, sequences, flashAttention: flashAttention === true, ...contextOptions });
  return {
    contextSize,
    sequences,
    totalLayers,
    cpuOnly: { ramBytes: cpuModel.cpuRam + cpuContext.cpuRam, vramBytes: cpuModel.gpuVram + cpuContext.gpuVram },
    fullGpu: { ramBytes: gpuModel.cpuRam + gpuContext.cpuRam, vramBytes: gpuModel.gpuVram + gpuContext.gpuVram },
  };
}

/** Share of free memory an estimate keeps in reserve by default (other apps, estimate error). */
export const DEFAULT_HEADROOM_FRACTION = 0.1;

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GiB`;
}

/**
 * The verdict for a model's needs on a machine: "fits on GPU" when every layer and the context
 * fit in free VRAM (and the rest in free RAM), else "fits in RAM" when it runs on the CPU within
 * free RAM, else "too large". A share of free memory (`headroomFraction`) is kept in reserve.
 * Pure: the machine is a parameter, so it is unit-tested without hardware.
 */
export function fitVerdict(needs: ResourceNeeds, machine: MachineResources, headroomFraction = DEFAULT_HEADROOM_FRACTION): FitEstimate {
  const usable = (free: number): number => Math.max(0, free) * (1 - headroomFraction);
  const ram = usable(machine.ramFreeBytes);
  const vram = usable(machine.vramFreeBytes);
  const base = { needs, machine, headroomFraction };
  if (machine.gpu !== false) {
    const gpu = needs.fullGpu;
    const fitsGpu = machine.unifiedMemory
      ? gpu.vramBytes + gpu.ramBytes <= Math.max(ram, vram)
      : gpu.vramBytes <= vram && gpu.ramBytes <= ram;
    if (fitsGpu) {
      return {
        ...base,
        verdict: "fits on GPU",
        reason: `Needs ${formatGiB(gpu.vramBytes)} of VRAM (${formatGiB(machine.vramFreeBytes)} free) and ${formatGiB(gpu.ramBytes)} of RAM at ${needs.contextSize} tokens of context.`,
      };
    }
  }
  const cpu = needs.cpuOnly;
  const cpuTotal = cpu.ramBytes + cpu.vramBytes;
  if (cpuTotal <= ram) {
    return {
      ...base,
      verdict: "fits in RAM",
      reason:
        `Needs ${formatGiB(cpuTotal)} of RAM (${formatGiB(machine.ramFreeBytes)} free) at ${needs.contextSize} tokens of context` +
        (machine.gpu === false ? "; no GPU in use." : `; too big for the ${formatGiB(machine.vramFreeBytes)} of free VRAM.`),
    };
  }
  return {
    ...base,
    verdict: "too large",
    reason: `Needs ${formatGiB(cpuTotal)} of RAM but only ${formatGiB(machine.ramFreeBytes)} is free (at ${needs.contextSize} tokens of context); try a smaller quantization or context.`,
  };
}

/** Options of {@link estimateFit}. */
export interface EstimateFitForInfoOptions extends ResourceNeedsOptions {
  /** This machine's memory. Default: probed (VRAM too when `llama` has a GPU). */
  machine?: MachineResources;
  /** Share of free memory kept in reserve. Default: 0.1. */
  headroomFraction?: number;
}

/** Whether a model (local or remote, from its header) fits this machine. */
export async function estimateFit(fileInfo: GgufFileInfo, options: EstimateFitForInfoOptions = {}): Promise<FitEstimate> {
  const needs = await estimateResourceNeeds(fileInfo, options);
  const machine = options.machine ?? (await probeMachineResources(options.llama));
  return fitVerdict(needs, machine, options.headroomFraction);
}
