import type { Notification } from "../protocol/notification.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt } from "../telemetry/log-limiter.js";
import type { DeadLetter } from "./dead-letter-table.js";
import { sqliteCode } from "./errors.js";

/** A side table's writes, as held mail and receipts use them. */
export interface NotificationRecord {
  add(n: Notification): void;
  remove(trace: string): void;
  load(): Notification[];
}

export interface DeadLetterRecord {
  add(letter: DeadLetter): void;
  load(): DeadLetter[];
}

/**
 * The writes to the state file's side tables (held mail, notifications
 * awaiting a receipt, dead letters) when the file refuses them (disk full,
 * an I/O error): never a throw into the mechanism, whose memory is the
 * working copy; the write is kept, in order, and made again before the
 * next one, or when `flush` is called (the commit path's retry calls it
 * once the file takes commits again).
 *
 * Bounded by `limit`: past it the oldest kept write is dropped and counted
 * `store_writes_dropped`. What that costs is a restart's view only: a
 * dropped add is not restored after a crash (the mail is sent from memory
 * meanwhile), a dropped remove sends a notification once more (same trace).
 * Failures are counted `store_write_failures`; an episode is logged at its
 * start and its end.
 */
export class WriteBehind {
  readonly #kept: (() => void)[] = [];
  #failing = false;

  constructor(private readonly deps: { counters: Counters; logger: Logger; limit: number }) {}

  /** Writes kept in memory, waiting for the file. */
  get kept(): number {
    return this.#kept.length;
  }

  notifications(table: NotificationRecord): NotificationRecord {
    return {
      add: (n) => this.#run(() => table.add(n)),
      remove: (trace) => this.#run(() => table.remove(trace)),
      load: () => table.load(),
    };
  }

  deadLetters(table: DeadLetterRecord): DeadLetterRecord {
    return {
      add: (letter) => this.#run(() => table.add(letter)),
      load: () => table.load(),
    };
  }

  /** Makes the kept writes, in order; stops at the first the file refuses. */
  flush(): void {
    while (this.#kept.length > 0) {
      try {
        (this.#kept[0] as () => void)();
      } catch (err) {
        this.#failed(err);
        return;
      }
      this.#kept.shift();
    }
    if (!this.#failing) return;
    this.#failing = false;
    this.deps.logger.info(
      { event: "store_tables_writable" },
      "the state file takes the kept side-table writes again",
    );
  }

  #run(write: () => void): void {
    this.#kept.push(write);
    if (this.#kept.length > this.deps.limit) {
      this.#kept.shift();
      this.deps.counters.inc("store_writes_dropped");
    }
    this.flush();
  }

  #failed(err: unknown): void {
    this.deps.counters.inc("store_write_failures");
    if (this.#failing) return;
    this.#failing = true;
    this.deps.logger.error(
      {
        event: "store_tables_unwritable",
        tables: "held, unacked, dead_letters",
        code: sqliteCode(err) ?? "error",
        err: excerpt((err as Error).message),
      },
      "the state file refuses writes to its side tables: kept in memory and written again",
    );
  }
}
