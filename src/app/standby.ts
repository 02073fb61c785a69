import type { StandbyStatus } from "../admin/readiness.js";
import type { DaemonConfig } from "../config/schema.js";
import type { Clock } from "../otp/clock.js";
import { isStoreError } from "../store/errors.js";
import type { DurableStore } from "../store/open.js";
import type { Logger } from "../telemetry/log.js";

/**
 * A standby (`[standby] enabled`, issue #17 item 6): two daemons with the
 * same configuration on one host share one state file, and the state
 * file's lock (`locking_mode = EXCLUSIVE`, src/store/open.ts) is the
 * election. The daemon that holds it is active; the other stays out of
 * the XMPP server and the broker altogether (ejabberd would spread the
 * component's stanzas over both connections, SERVERS.md) and tries the
 * lock every `standby.poll_interval`. The kernel releases the lock the
 * moment the active process dies, `kill -9` included, so the standby holds
 * it at its next try, restores what the active left in the file and starts
 * (src/app/standby-takeover.ts says so).
 */

export interface LockWaitOptions<T> {
  readonly clock: Clock;
  /** The file whose lock is waited for (for the status). */
  readonly path: string;
  readonly intervalMs: number;
  /**
   * One try at the lock: what holding it gives (the open store), or
   * undefined while another process holds it. A throw ends the wait with
   * that error (a file that is not a state file does not heal by waiting).
   */
  readonly attempt: () => T | undefined;
  /** Tries made before the wait began (the start's own), counted in the status. */
  readonly attemptsBefore?: number;
}

/** Tries `attempt` every `intervalMs` on the injected clock until it gives something or is cancelled. */
export class LockWait<T> {
  /** What the winning try gave, or undefined when cancelled; rejects with a try's throw. */
  readonly acquired: Promise<T | undefined>;
  readonly #options: LockWaitOptions<T>;
  readonly #since: number;
  #attempts: number;
  #lastAttemptAt: number;
  #timer: unknown;
  #settle: ((result: T | undefined, error?: unknown) => void) | undefined;

  constructor(options: LockWaitOptions<T>) {
    this.#options = options;
    this.#since = options.clock.now();
    this.#lastAttemptAt = this.#since;
    this.#attempts = options.attemptsBefore ?? 0;
    this.acquired = new Promise<T | undefined>((resolve, reject) => {
      this.#settle = (result, error) => {
        this.#settle = undefined;
        if (error === undefined) resolve(result);
        else reject(error);
      };
    });
    this.#arm();
  }

  status(): StandbyStatus {
    return {
      path: this.#options.path,
      since: this.#since,
      attempts: this.#attempts,
      lastAttemptAt: this.#lastAttemptAt,
      pollIntervalMs: this.#options.intervalMs,
    };
  }

  /** Stops trying; `acquired` resolves with undefined. Idempotent; no effect once settled. */
  cancel(): void {
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#settle?.(undefined);
  }

  #arm(): void {
    const { clock, intervalMs } = this.#options;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#try();
    }, intervalMs);
  }

  #try(): void {
    if (this.#settle === undefined) return;
    this.#attempts += 1;
    this.#lastAttemptAt = this.#options.clock.now();
    let got: T | undefined;
    try {
      got = this.#options.attempt();
    } catch (err) {
      this.#settle(undefined, err ?? new Error("the lock attempt threw"));
      return;
    }
    if (got === undefined) this.#arm();
    else this.#settle(got);
  }
}

/** How a takeover went: for the log and `announceTakeover`. */
export interface Takeover {
  readonly path: string;
  /** From the moment it began to wait to the winning try. */
  readonly waitedMs: number;
  readonly attempts: number;
}

export interface StandByOptions {
  readonly config: DaemonConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Opens the state file once without waiting; throws a StoreError, `locked` while another daemon holds it. */
  readonly open: () => DurableStore;
  /** A stop signal ends the wait: hand it `cancel` (the start's signals). */
  readonly onStop: (cancel: () => void) => void;
  /** Where the waiting shows: the admin listener's /readyz and /status. */
  readonly show?: (status: () => StandbyStatus) => void;
}

/**
 * The start found the state file locked and `standby.enabled` is on: waits
 * for the lock. Resolves with the open store once it is ours, or undefined
 * if a stop signal came first; rejects with a StoreError that is not
 * `locked` (the caller says it and exits 78, as at start).
 */
export async function standBy(
  options: StandByOptions,
): Promise<{ store: DurableStore; takeover: Takeover } | undefined> {
  const { config, logger, clock, open } = options;
  const { path } = config.durability;
  const wait = new LockWait({
    clock,
    path,
    intervalMs: config.standby.pollIntervalMs,
    attemptsBefore: 1,
    attempt: () => {
      try {
        return open();
      } catch (err) {
        if (isStoreError(err) && err.reason === "locked") return undefined;
        throw err;
      }
    },
  });
  options.show?.(() => wait.status());
  options.onStop(() => wait.cancel());
  logger.info(
    { event: "standby", path, pollIntervalMs: config.standby.pollIntervalMs },
    "standby: another daemon holds the state file; waiting to take over",
  );
  const store = await wait.acquired;
  if (store === undefined) return undefined;
  const { since, attempts } = wait.status();
  const takeover = { path, waitedMs: clock.now() - since, attempts };
  logger.info({ event: "standby_acquired", ...takeover }, "standby: the state file is ours");
  return { store, takeover };
}
