import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Logger } from "../logger.js";
import type { RouteDefinition } from "./Router.js";
import { ROUTING_POLICIES } from "./routingPolicies.js";

/** The file's shape; it is read back as untrusted input (a hand-edited or damaged file must not stop the server). */
const storedAliasesSchema = z.object({
  aliases: z
    .array(
      z.object({
        alias: z.string().min(1).max(512),
        policy: z.enum(ROUTING_POLICIES).optional(),
        localOnly: z.boolean().optional(),
        targets: z.array(z.object({ provider: z.string().min(1).max(64), model: z.string().min(1).max(512), weight: z.number().min(0).max(1e6).optional() })).min(1).max(100),
      }),
    )
    .max(10_000),
});

/**
 * Aliases users make at run time (Ollama's `/api/copy`), kept in `<data dir>/aliases.json` so
 * they survive a restart. They are routes like the config file's; the config's win on a clash.
 */
export class UserAliasStore {
  private readonly aliases = new Map<string, RouteDefinition>();

  /**
   * @param file the JSON file (created on the first change).
   * @param logger told when an existing file cannot be read (its aliases are then ignored).
   */
  constructor(
    private readonly file: string,
    logger?: Logger,
  ) {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return; // no file yet
    }
    try {
      const parsed = storedAliasesSchema.parse(JSON.parse(text));
      for (const route of parsed.aliases) this.aliases.set(route.alias, route);
    } catch (error) {
      logger?.warn({ err: error, file }, "the user aliases file is unreadable; its aliases are ignored");
    }
  }

  list(): RouteDefinition[] {
    return [...this.aliases.values()];
  }

  has(alias: string): boolean {
    return this.aliases.has(alias);
  }

  /** Adds or replaces an alias and saves the file. */
  put(route: RouteDefinition): void {
    this.aliases.set(route.alias, route);
    this.save();
  }

  /** Removes an alias and saves the file; false when there was none. */
  remove(alias: string): boolean {
    if (!this.aliases.delete(alias)) return false;
    this.save();
    return true;
  }

  /** Written to a temporary file then renamed, so a crash never leaves half a file. */
  private save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ aliases: this.list() }, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}
