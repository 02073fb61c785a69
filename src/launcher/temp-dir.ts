import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A throwaway server's own directory: config, data and logs, removed once. */
export interface TempDir {
  readonly path: string;
  /** True once `remove()` ran: a stopped server cannot be restarted on it. */
  readonly removed: boolean;
  remove(): Promise<void>;
}

/** A fresh `presence-notify-<name>-XXXXXX` under the OS temp dir. */
export async function makeTempDir(name: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `presence-notify-${name}-`));
  let removed = false;
  return {
    path,
    get removed() {
      return removed;
    },
    async remove() {
      if (removed) return;
      removed = true;
      await rm(path, { recursive: true, force: true });
    },
  };
}
