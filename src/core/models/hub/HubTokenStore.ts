import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HubTokenStatus } from "../../../shared/api/hub.js";
import { InvalidArgumentError } from "../../errors.js";

/**
 * Where a Hugging Face token entered in the app is kept. Headless: a 0600 file in the data
 * folder ({@link FileHubTokenVault}); on the desktop: encrypted with the OS keychain through
 * Electron's safeStorage (src/main/safeStorageTokenVault.ts), injected so the core never imports
 * electron. Synchronous: the token is a few bytes, and the hub client asks for it per request.
 */
export interface HubTokenVault {
  /** The stored token; undefined when none is stored (or it cannot be read). */
  read(): string | undefined;
  /** Stores the token, replacing any earlier one. */
  write(token: string): void;
  /** Removes the stored token (nothing happens when there is none). */
  clear(): void;
}

/** Writes `data` to `file` atomically (a temporary file renamed over it), readable by the owner only. */
export function writePrivateFileAtomically(file: string, data: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    // The mode applies when the file is created, so the token is never readable by others, not even briefly.
    writeFileSync(temporary, data, { mode: 0o600, flag: "wx" });
    chmodSync(temporary, 0o600); // A umask cannot widen it, but be explicit for filesystems that ignore the open mode.
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The token in a plain file only its owner can read (headless `serve`): `<dataDir>/hf-token` by default. */
export class FileHubTokenVault implements HubTokenVault {
  constructor(readonly filePath: string) {}

  read(): string | undefined {
    try {
      return readFileSync(this.filePath, "utf8").trim() || undefined;
    } catch {
      return undefined;
    }
  }

  write(token: string): void {
    writePrivateFileAtomically(this.filePath, `${token}\n`);
  }

  clear(): void {
    rmSync(this.filePath, { force: true });
  }
}

/** The file name of the headless token file in the data folder. */
export const HUB_TOKEN_FILE = "hf-token";

/** Longest token accepted (Hugging Face tokens are ~40 characters; fine-grained ones a little more). */
const MAX_TOKEN_LENGTH = 512;
/** Visible ASCII only: a token goes into an HTTP header, where control characters would split it. */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/** Options of {@link HubTokenStore}. */
export interface HubTokenStoreOptions {
  /** Where an entered token is kept. */
  vault: HubTokenVault;
  /**
   * The environment's token (HF_TOKEN, else HUGGING_FACE_HUB_TOKEN): it wins over a stored one,
   * as with huggingface_hub, so a deployment's token cannot be overridden from the UI. Default: none.
   */
  envToken?: string;
}

/**
 * The Hugging Face token the hub client and downloads use: the environment's if set, else the
 * one entered in the app (kept in the vault). The token itself is only handed to the hub client;
 * the UI sees {@link HubTokenStatus}.
 */
export class HubTokenStore {
  private readonly envToken?: string;
  /** The stored token, read from the vault on first use. */
  private stored: string | undefined;
  private loaded = false;

  constructor(private readonly options: HubTokenStoreOptions) {
    this.envToken = options.envToken?.trim() || undefined;
  }

  /** The token to send to the hub; undefined when there is none. */
  token(): string | undefined {
    return this.envToken ?? this.storedToken();
  }

  status(): HubTokenStatus {
    const stored = this.storedToken() !== undefined;
    const source = this.envToken ? "env" : stored ? "stored" : "none";
    return { configured: source !== "none", source, stored };
  }

  /**
   * Stores a token entered in the app.
   * @throws InvalidArgumentError for an empty, too long or malformed token
   */
  set(token: string): HubTokenStatus {
    const trimmed = token.trim();
    if (!trimmed) throw new InvalidArgumentError("Enter a token, or clear the stored one", "token");
    if (trimmed.length > MAX_TOKEN_LENGTH) throw new InvalidArgumentError(`A token has at most ${MAX_TOKEN_LENGTH} characters`, "token");
    if (!TOKEN_PATTERN.test(trimmed)) throw new InvalidArgumentError("A token has no spaces or control characters", "token");
    this.options.vault.write(trimmed);
    this.stored = trimmed;
    this.loaded = true;
    return this.status();
  }

  /** Removes the stored token (the environment's, if any, stays in use). */
  clear(): HubTokenStatus {
    this.options.vault.clear();
    this.stored = undefined;
    this.loaded = true;
    return this.status();
  }

  private storedToken(): string | undefined {
    if (!this.loaded) {
      this.loaded = true;
      const read = this.options.vault.read();
      this.stored = read && TOKEN_PATTERN.test(read) && read.length <= MAX_TOKEN_LENGTH ? read : undefined;
    }
    return this.stored;
  }
}
