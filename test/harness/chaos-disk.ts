import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdminClient } from "./admin-client.js";
import type { ChaosLog } from "./chaos-log.js";
import type { Mode } from "./chaos-oracle.js";
import type { Rng } from "./chaos-rng.js";
import type { DaemonProcess } from "./daemon.js";
import { mountSmallFs, type SmallFs, smallFsUnavailable } from "./small-fs.js";

/**
 * The chaos run's state file and its `disk-full` fault (durable mode). When
 * a tmpfs can be mounted (root on Linux, as CI is), the state file lives on
 * one for the whole run, sized so the run never fills it by itself: SQLite's
 * WAL grows to about 4 MiB (1,000 pages) before its first checkpoint and
 * keeps that size, and the file itself stays under 1 MiB in a 30-minute run
 * (the peak is noted at the end of every run).
 */
export const STATE_FS_KIB = 16 * 1024;

export class ChaosState {
  #peakKiB = 0;

  private constructor(
    readonly dir: string,
    /** The tmpfs under the state file, when the `disk-full` fault can run. */
    readonly fs: SmallFs | undefined,
    /** Why the `disk-full` fault cannot run here, or undefined. */
    readonly diskFullUnavailable: string | undefined,
  ) {}

  static open(mode: Mode, prefix: string): ChaosState {
    const why =
      mode === "durable"
        ? smallFsUnavailable()
        : "a full disk is a durable-mode fault (memory mode has no state file)";
    if (why !== undefined) {
      return new ChaosState(mkdtempSync(join(tmpdir(), prefix)), undefined, why);
    }
    const fs = mountSmallFs(STATE_FS_KIB);
    return new ChaosState(fs.dir, fs, undefined);
  }

  get path(): string {
    return join(this.dir, "state.db");
  }

  /** The state file and its WAL now, in KiB; remembers the peak. */
  sample(): number {
    let kib = 0;
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      try {
        kib += statSync(`${this.path}${suffix}`).blocks / 2;
      } catch {
        // Not there (memory mode, or no WAL after a clean stop).
      }
    }
    this.#peakKiB = Math.max(this.#peakKiB, kib);
    return kib;
  }

  /** For the end of the log: how close the run came to filling the tmpfs by itself. */
  describePeak(): string {
    const where = this.fs ? `a ${this.fs.sizeKiB} KiB tmpfs` : "the temporary directory";
    return `state file and WAL at most ${Math.round(this.#peakKiB)} KiB at a quiet point, on ${where}`;
  }

  /** Unmounts the tmpfs (or removes the directory); called in the run's finally. */
  close(): void {
    if (this.fs) this.fs.unmount();
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface DiskFullRun {
  fs: SmallFs;
  log: ChaosLog;
  rng: Rng;
  /** The daemon and admin client now (a daemon fault replaces them). */
  daemon: () => DaemonProcess;
  admin: () => AdminClient;
  churn: (n: number) => Promise<void>;
  /** Waits until what the churn did has reached the daemon (the broker's confirms). */
  settle?: () => Promise<void>;
}

const READY_AGAIN_MS = 20_000;
/** How many user actions a full disk gets to make the daemon fail a write. */
const MAX_ACTIONS_TO_BITE = 600;

/**
 * The `disk-full` fault: the tmpfs under the state file is filled, users
 * churn until the daemon fails a write and on a little while nothing can
 * be written, then it is freed. The daemon keeps the commits that failed in
 * memory and retries them, answering /readyz 503 meanwhile; it must be
 * ready again soon after the free (the retries are at most 5 s apart), and
 * the quiet point that follows judges the view as after any fault.
 *
 * "Until the daemon fails a write": a commit that fits in WAL space the
 * file already has needs no new block, so a full disk does not stop it.
 * SQLite's WAL keeps its size (about 4 MiB) and is reused from its start
 * after each checkpoint; a write fails once a checkpoint must grow the
 * file, which a cycle of the WAL (a few hundred actions) reaches. So the
 * churn goes on, in seeded batches, until `store_unwritable` is logged (at
 * most MAX_ACTIONS_TO_BITE actions): how many batches depends on what the
 * daemon wrote before, the one part of this fault not in the seed. Whether
 * it bit, and what /readyz and the log said, is recorded in the fault log.
 * Returns false, with the log's failure set, if the daemon is not ready
 * again in time.
 */
export async function injectDiskFull(run: DiskFullRun): Promise<boolean> {
  const events = (name: string) => run.daemon().logs.filter((l) => l.event === name).length;
  const before = { unwritable: events("store_unwritable"), writable: events("store_writable") };
  const bitten = () => events("store_unwritable") > before.unwritable;
  let unready: string | undefined;
  let actions = 0;
  run.fs.fill();
  try {
    while (!bitten() && actions < MAX_ACTIONS_TO_BITE) {
      const n = run.rng.int(6, 16);
      await run.churn(n);
      actions += n;
      await run.settle?.();
      for (const until = Date.now() + 300; !bitten() && Date.now() < until; ) await sleep(25);
    }
    if (bitten()) {
      run.log.note(`disk full: the daemon failed a write within ${actions} actions; churn on`);
      await run.churn(run.rng.int(2, 8));
      await run.settle?.();
      unready = await readyz(run.admin(), (r) => !r.ok, 3_000);
    } else {
      run.log.note(`disk full: every write fit in the WAL's room for ${actions} actions`);
    }
  } finally {
    run.fs.free();
  }
  const freed = Date.now();
  const ready = await readyz(run.admin(), (r) => r.ok, READY_AGAIN_MS);
  // The episode's end line can reach the harness's pipe after /readyz says 200.
  const ended = () => events("store_writable") - before.writable >= (bitten() ? 1 : 0);
  for (const until = Date.now() + 2_000; !ended() && Date.now() < until; ) await sleep(25);
  const unwritable = events("store_unwritable") - before.unwritable;
  const writable = events("store_writable") - before.writable;
  if (unwritable > 0) run.log.count("store_unwritable", unwritable);
  if (writable > 0) run.log.count("store_writable", writable);
  const seen =
    unready === undefined ? "/readyz 200 while full" : `/readyz 503 while full (${unready})`;
  const logged = `logged store_unwritable x${unwritable}, store_writable x${writable}`;
  if (ready === undefined) {
    const now = await run
      .admin()
      .get("/readyz")
      .then(async (r) => `${r.status} ${await r.text()}`)
      .catch((err: Error) => err.message);
    run.log.failure = `after disk-full: /readyz not 200 ${READY_AGAIN_MS / 1000} s after the disk was freed (${now}); ${seen}; ${logged}`;
    run.log.note(`MISMATCH ${run.log.failure}`);
    return false;
  }
  run.log.note(
    `disk freed: ${seen}; ready again ${((Date.now() - freed) / 1000).toFixed(1)} s after the free; ${logged}`,
  );
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls /readyz until `wanted` holds of its answer; the answer's reason, or undefined at the bound. */
async function readyz(
  admin: AdminClient,
  wanted: (r: Response) => boolean,
  boundMs: number,
): Promise<string | undefined> {
  for (const deadline = Date.now() + boundMs; Date.now() < deadline; ) {
    try {
      const r = await admin.get("/readyz");
      const body = (await r.json()) as { reason?: string };
      if (wanted(r)) return body.reason ?? "ready";
    } catch {
      // The admin listener is the daemon's: it answers unless the daemon is gone.
    }
    await sleep(100);
  }
  return undefined;
}
