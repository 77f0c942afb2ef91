import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { SafeStorage } from "electron";
import { writePrivateFileAtomically, type HubTokenVault } from "../core/models/hub/HubTokenStore.js";

/** The file of the encrypted token in the data folder (next to where `serve` keeps its plain `hf-token`). */
export const ENCRYPTED_HUB_TOKEN_FILE = "hf-token.enc";

/**
 * The desktop app's Hugging Face token, encrypted with the OS keychain (Electron's safeStorage:
 * Keychain, DPAPI, libsecret/kwallet) in a 0600 file of the data folder. Without encryption
 * (no keyring on Linux) storing is refused rather than falling back to plain text.
 */
export class SafeStorageTokenVault implements HubTokenVault {
  private readonly filePath: string;

  constructor(
    private readonly safeStorage: Pick<SafeStorage, "isEncryptionAvailable" | "encryptString" | "decryptString">,
    dataDir: string,
  ) {
    this.filePath = path.join(dataDir, ENCRYPTED_HUB_TOKEN_FILE);
  }

  read(): string | undefined {
    try {
      if (!this.safeStorage.isEncryptionAvailable()) return undefined;
      return this.safeStorage.decryptString(readFileSync(this.filePath)).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  write(token: string): void {
    if (!this.safeStorage.isEncryptionAvailable()) {
      throw new Error("This system offers no encrypted storage (no keyring); set HF_TOKEN in the environment instead");
    }
    writePrivateFileAtomically(this.filePath, this.safeStorage.encryptString(token));
  }

  clear(): void {
    rmSync(this.filePath, { force: true });
  }
}
