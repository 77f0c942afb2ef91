import type { GgufTensorInfo } from "node-llama-cpp";

/** [elements per block, bytes per block] of the common ggml tensor types, by ggml type number. */
const GGML_BLOCKS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0, [1, 4]], // F32
  [1, [1, 2]], // F16
  [2, [32, 18]], // Q4_0
  [3, [32, 20]], // Q4_1
  [6, [32, 22]], // Q5_0
  [7, [32, 24]], // Q5_1
  [8, [32, 34]], // Q8_0
  [10, [256, 84]], // Q2_K
  [11, [256, 110]], // Q3_K
  [12, [256, 144]], // Q4_K
  [13, [256, 176]], // Q5_K
  [14, [256, 210]], // Q6_K
  [15, [256, 292]], // Q8_K
  [24, [1, 1]], // I8
  [25, [1, 2]], // I16
  [26, [1, 4]], // I32
  [27, [1, 8]], // I64
  [28, [1, 8]], // F64
  [30, [1, 2]], // BF16
]);

/** Bytes of a tensor's data, or undefined for a type this table does not know. */
function tensorByteLength(tensor: GgufTensorInfo): number | undefined {
  const block = GGML_BLOCKS.get(tensor.ggmlType);
  if (!block) return undefined;
  let elements = 1;
  for (const dimension of tensor.dimensions) elements *= Number(dimension);
  return Math.ceil(elements / block[0]) * block[1];
}

/**
 * Checks that every tensor's data lies inside its file: a GGUF whose header is intact but
 * whose data was cut off (an interrupted copy) reads fine but cannot be loaded.
 * @param partSizes the size of each file part, in part order.
 * @returns why the data is incomplete, or undefined when it is complete.
 */
export function findMissingTensorData(tensors: readonly GgufTensorInfo[], partSizes: readonly number[]): string | undefined {
  const needed = partSizes.map(() => 0);
  for (const tensor of tensors) {
    const part = (tensor.filePart ?? 1) - 1;
    if (part < 0 || part >= needed.length) continue;
    const end = Number(tensor.fileOffset) + (tensorByteLength(tensor) ?? 1);
    needed[part] = Math.max(needed[part]!, end);
  }
  for (let part = 0; part < partSizes.length; part++) {
    if (needed[part]! > partSizes[part]!) {
      const which = partSizes.length > 1 ? `part ${part + 1} is` : "the file is";
      return `${which} truncated: the tensor data needs ${needed[part]} bytes but the file has ${partSizes[part]}`;
    }
  }
  return undefined;
}
