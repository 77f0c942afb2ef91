import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { localBuildRecordPath } from "./engineBuildPaths.js";

const ENGINE_GPUS = ["cuda", "vulkan", "metal", "cpu"] as const;

/**
 * The record's format. 2: builds verified by running a model (version 1 only loaded them, and
 * a build that loads can still crash in its first matrix multiplication).
 */
export const LOCAL_BUILD_RECORD_VERSION = 2;

/** A folder name as node-llama-cpp makes them (platform-arch[-gpu]-hash): never a path. */
const folderName = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/).refine((name) => name !== "." && name !== "..");

const recordSchema = z.object({
  version: z.literal(LOCAL_BUILD_RECORD_VERSION),
  /** node-llama-cpp's folder of the build under `llama/localBuilds`. */
  folderName,
  /** The cmake options it was built with: `getLlama` needs the same ones to find it. */
  cmakeOptions: z.record(z.string().regex(/^[A-Z0-9_]{1,64}$/), z.string().max(256)),
  gpu: z.enum(ENGINE_GPUS),
  llamaCppRelease: z.string().max(100),
  /** The node-llama-cpp version whose addon sources were compiled. */
  nodeLlamaCppVersion: z.string().max(100),
  builtAt: z.number(),
  /** What was true when a process last loaded the build successfully. */
  verified: z.object({
    /** {@link cpuFingerprint} of the machine (a native build may not run on another CPU). */
    cpu: z.string().max(200),
    binarySizeBytes: z.number(),
    binaryMtimeMs: z.number(),
    /** llama.cpp's system info line of the build (lists OPENMP when compiled with it). */
    systemInfo: z.string().max(4000),
  }),
  /** A check that failed on this CPU and binary: later starts skip the check and use the prebuilt binary. */
  rejected: z.object({ cpu: z.string().max(200), binarySizeBytes: z.number(), binaryMtimeMs: z.number(), reason: z.string().max(2000) }).optional(),
});

/** The record of the local build to use, in `<data dir>/engine/local-build.json`. */
export type LocalBuildRecord = z.infer<typeof recordSchema>;

/** The record, `undefined` when there is none, or why it cannot be used. */
export type RecordReading = { record: LocalBuildRecord } | { record: undefined; problem?: string };

/** Reads and checks the record; a missing file is no record, a damaged one is a problem (never a throw). */
export async function readLocalBuildRecord(engineDir: string): Promise<RecordReading> {
  const file = localBuildRecordPath(engineDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { record: undefined };
    return { record: undefined, problem: `the local build record ${file} cannot be read (${(error as Error).message})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { record: undefined, problem: `the local build record ${file} is not valid JSON` };
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === "number" && version !== LOCAL_BUILD_RECORD_VERSION) {
    return { record: undefined, problem: `the local build was recorded by another version of marduk-local (record format ${version}); run \`marduk-local engine build\` again` };
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { record: undefined, problem: `the local build record ${file} is damaged (${issue.path.join(".") || "record"}: ${issue.message})` };
  }
  return { record: parsed.data };
}

/** Writes the record atomically (a reader never sees half of it). */
export async function writeLocalBuildRecord(engineDir: string, record: LocalBuildRecord): Promise<void> {
  const file = localBuildRecordPath(engineDir);
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, "utf8");
  await rename(temporary, file);
}

/** Forgets the local build: the prebuilt binary is used from the next start on. */
export async function removeLocalBuildRecord(engineDir: string): Promise<void> {
  await rm(localBuildRecordPath(engineDir), { force: true });
}

/** The record's build description for people and the contract. */
export function describeRecordedBuild(record: LocalBuildRecord): { native: boolean; openmp: boolean } {
  return {
    native: isCmakeOn(record.cmakeOptions.GGML_NATIVE),
    openmp: /OPENMP\s*=\s*1/.test(record.verified.systemInfo) || isCmakeOn(record.cmakeOptions.GGML_OPENMP),
  };
}

function isCmakeOn(value: string | undefined): boolean {
  return value !== undefined && /^(on|1|true|yes)$/i.test(value);
}
