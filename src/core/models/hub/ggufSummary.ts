import type { GgufFileInfo } from "node-llama-cpp";
import type { GgufSummary } from "../../../shared/api/hub.js";
import { parseQuantization } from "./quantization.js";

/**
 * The metadata people ask about, from a GGUF header (local or remote): architecture, size in
 * parameters, quantization (`general.file_type`, else the file name), training context length
 * and whether a chat template is present.
 * @param fileName used for the quantization when the header does not say.
 */
export async function summarizeGgufInfo(fileInfo: GgufFileInfo, fileName?: string): Promise<GgufSummary> {
  const { GgufInsights, GgufFileType } = await import("node-llama-cpp");
  const insights = await GgufInsights.from(fileInfo);
  const general = fileInfo.metadata.general;
  const fileType = general?.file_type;
  const typeName = fileType === undefined ? undefined : (GgufFileType as Record<number, string>)[fileType];
  const quantization = typeName?.replace(/^(MOSTLY|ALL)_/, "") ?? (fileName ? parseQuantization(fileName) : undefined);
  const chatTemplate = fileInfo.metadata.tokenizer?.chat_template;
  return {
    name: typeof general?.name === "string" ? general.name : undefined,
    architecture: general?.architecture,
    parameterCount: insights.totalParameters || undefined,
    quantization,
    contextLength: insights.trainContextSize,
    hasChatTemplate: typeof chatTemplate === "string" && chatTemplate.length > 0,
    weightsBytes: insights.modelSize,
    layers: insights.totalLayers,
    embeddingLength: insights.embeddingVectorSize,
    parts: fileInfo.splicedParts,
  };
}
