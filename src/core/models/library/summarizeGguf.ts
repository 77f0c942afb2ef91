import type { GgufFileInfo, GgufTensorInfo } from "node-llama-cpp";
import type { LibraryModel, ModelCapability } from "../../../shared/api/library.js";
import { parseQuantization } from "../hub/quantization.js";

/** What the library shows of a GGUF file's metadata: these fields of a library entry. */
export type GgufSummary = Pick<
  LibraryModel,
  "kind" | "name" | "architecture" | "parameterCount" | "quantization" | "contextLength" | "layerCount" | "hasChatTemplate" | "capabilities"
>;

/** Architectures that only encode (no text generation): embedding models. */
const ENCODER_ONLY_ARCHITECTURES = new Set([
  "bert",
  "nomic-bert",
  "nomic-bert-moe",
  "jina-bert-v2",
  "jina-bert-v3",
  "neo-bert",
  "modern-bert",
  "t5encoder",
]);

/** llama.cpp pooling types that produce one embedding per input: mean, cls, last. */
const EMBEDDING_POOLING_TYPES = new Set([1, 2, 3]);

/** Names of instruction-tuned models: "...-Instruct", "...-chat", "gemma-3-1b-it". */
const INSTRUCT_NAME = /(?:^|[-_.\s/])(?:instruct|chat|it)(?:$|[-_.\s/])/i;

/** "MOSTLY_Q4_K_M" -> "Q4_K_M", "ALL_F32" -> "F32". */
export function quantizationFromFileTypeName(typeName: string): string {
  return typeName.replace(/^(?:MOSTLY|ALL)_/, "");
}

/** Number of weights of all tensors. */
export function countParameters(tensors: readonly GgufTensorInfo[]): number {
  let total = 0;
  for (const tensor of tensors) {
    let elements = 1;
    for (const dimension of tensor.dimensions) elements *= Number(dimension);
    total += elements;
  }
  return total;
}

function numberOrUndefined(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

/**
 * Summarises a GGUF file's metadata for the library.
 * @param fileTypeName maps `general.file_type` to its llama.cpp name (node-llama-cpp's `GgufFileType`).
 */
export function summarizeGguf(
  info: GgufFileInfo,
  fileName: string,
  fileTypeName: (fileType: number) => string | undefined,
): GgufSummary {
  const general = info.metadata.general as Record<string, unknown> | undefined;
  const architecture = typeof general?.architecture === "string" ? general.architecture : undefined;
  const name = typeof general?.name === "string" ? general.name : undefined;
  const isAdapter = general?.type === "adapter";
  const fileType = numberOrUndefined(general?.file_type);
  const typeName = fileType === undefined ? undefined : fileTypeName(fileType);
  const quantization = typeName ? quantizationFromFileTypeName(typeName) : parseQuantization(fileName);
  const architectureMetadata = (info.architectureMetadata ?? {}) as Record<string, unknown>;
  const contextLength = numberOrUndefined(architectureMetadata.context_length);
  const blockCount = numberOrUndefined(architectureMetadata.block_count);
  const poolingType = numberOrUndefined(architectureMetadata.pooling_type);
  const tokenizer = info.metadata.tokenizer as Record<string, unknown> | undefined;
  const hasChatTemplate = typeof tokenizer?.chat_template === "string" && tokenizer.chat_template.length > 0;
  const tensors = info.fullTensorInfo ?? info.tensorInfo;

  const capabilities: ModelCapability[] = [];
  if (!isAdapter) {
    const encoderOnly = architecture !== undefined && ENCODER_ONLY_ARCHITECTURES.has(architecture);
    const embedding = encoderOnly || (poolingType !== undefined && EMBEDDING_POOLING_TYPES.has(poolingType));
    const instructLike = INSTRUCT_NAME.test(name ?? "") || INSTRUCT_NAME.test(fileName.replace(/\.gguf$/i, ""));
    if (!encoderOnly && !embedding && (hasChatTemplate || instructLike)) capabilities.push("chat");
    if (!encoderOnly) capabilities.push("completion");
    if (embedding) capabilities.push("embedding");
  }

  return {
    kind: isAdapter ? "adapter" : "model",
    name,
    architecture,
    parameterCount: tensors ? countParameters(tensors) : undefined,
    quantization,
    contextLength,
    // The output layer is one more offloadable layer (node-llama-cpp's totalLayers); adapters have none.
    ...(!isAdapter && blockCount !== undefined && blockCount >= 0 ? { layerCount: blockCount + 1 } : {}),
    hasChatTemplate,
    capabilities,
  };
}
