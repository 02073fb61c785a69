import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Why a small filesystem cannot be mounted here (not root, no tmpfs), or undefined if it can. */
export function smallFsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "a tmpfs mount needs Linux";
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root (CI runs as root)";
  return undefined;
}

export type SmallFs = ReturnType<typeof mountSmallFs>;

/**
 * Mounts still up when the process exits (a run cut short, a test that
 * timed out before its finally): unmounted lazily on the way out, so no
 * tmpfs outlives the process that mounted it.
 */
const mounted = new Set<string>();
let exitHook = false;

function unmount(dir: string): void {
  try {
    execFileSync("umount", [dir]);
  } catch {
    // Busy (a daemon still has its state file open): detached now, freed
    // once the last file on it is closed.
    execFileSync("umount", ["-l", dir]);
  }
  mounted.delete(dir);
  rmdirSync(dir);
}

/**
 * A real, small filesystem (tmpfs of `sizeKiB`) in a temporary directory,
 * for a state file that runs out of room. `fill()` takes every free block
 * with a filler file, `free()` deletes it; `unmount()` must be called in an
 * afterAll/finally (it falls back to a lazy unmount).
 */
export function mountSmallFs(sizeKiB: number) {
  const dir = mkdtempSync(join(tmpdir(), "presence-notify-smallfs-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0755`, "tmpfs", dir]);
  mounted.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const d of [...mounted]) {
        try {
          unmount(d);
        } catch {
          // Nothing more can be done on the way out.
        }
      }
    });
  }
  const filler = join(dir, "filler");
  return {
    dir,
    sizeKiB,
    /** Writes the filler until the filesystem refuses (ENOSPC). */
    fill() {
      const fd = openSync(filler, "a");
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (let size = chunk.length; size >= 512; ) {
          try {
            writeSync(fd, chunk, 0, size);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
            size = Math.floor(size / 2);
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      if (mounted.has(dir)) unmount(dir);
    },
  };
}
