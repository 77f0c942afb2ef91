import { open, readFile, rm } from "node:fs/promises";
import { DownloadError } from "./downloadErrors.js";
import { isProcessAlive } from "../../isProcessAlive.js";

/**
 * Takes the lock file of a download so two processes never append to one partial file.
 * A lock left by a process that no longer runs (killed, crashed) is taken over.
 * @returns the release function.
 * @throws DownloadError "locked" when a live process holds it.
 */
export async function acquireDownloadLock(lockPath: string, what: string): Promise<() => Promise<void>> {
  for (let tries = 0; tries < 3; tries++) {
    try {
      const handle = await open(lockPath, "wx");
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      } finally {
        await handle.close();
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let pid: number | undefined;
      try {
        const parsed = JSON.parse(await readFile(lockPath, "utf8")) as { pid?: unknown };
        pid = typeof parsed.pid === "number" ? parsed.pid : undefined;
      } catch {
        pid = undefined; // half-written or unreadable: treated as stale
      }
      if (pid !== undefined && pid !== process.pid && isProcessAlive(pid)) {
        throw new DownloadError("locked", `${what} is already being downloaded by process ${pid}`);
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new DownloadError("locked", `Could not take the download lock ${lockPath}`);
}
