import type { TimerGuard } from "../otp/timer-guard.js";
import type { Notification } from "../protocol/notification.js";
import type { JidView } from "../protocol/pseudonym.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { DurableStore } from "../store/open.js";
import type { DeadLetterRecord } from "../store/write-behind.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import { DeadLetters } from "./dead-letters.js";
import { SnapshotPages } from "./snapshot-pages.js";
import {
  isResync,
  type ResyncReason,
  type ResyncSignal,
  ResyncSignals,
} from "./snapshot-signal.js";
import { domainOf, NotifiedView } from "./snapshot-view.js";

export interface SnapshotOptions {
  mailbox: NotificationQueue<Notification>;
  /** Durable mode: the position is stored with each notification, the view restored at start. */
  store?: DurableStore;
  timers: TimerGuard;
  counters: Counters;
  logger: Logger;
  /** `notify.server_user`, read live. */
  serverUser: () => string;
  /** Which user domains are served, and those known to be before any notification. */
  domains: { serves(domain: string): boolean; known(): Iterable<string> };
  /** What a session's JID shows as in a snapshot: as in the notifications' `args.user`. */
  show: JidView;
}

/**
 * `notify.snapshot` (PROTOCOL.md in this package): the notified view and
 * the positions at the mailbox's door (src/outbox/enqueue.ts calls `stamp`
 * and `entered`), the frozen snapshots the IQ pages through
 * (src/outbox/snapshot-iq.ts), and the resync signals owed when the daemon
 * cannot vouch for what a server user was told:
 * - a start without durable state (memory mode, or a state file without a
 *   position): its view is empty (`daemon-start`);
 * - a notification the full mailbox refused (`mailbox-full`) or the
 *   notifier set aside (`dead-letter`): V has it, the server user never will;
 * - a durable-commit overflow reconciled (`overflow`): what it dropped is not told;
 * - whoever calls `resync` (a standby taking over: `takeover`).
 */
export class Snapshot {
  readonly view: NotifiedView;
  readonly pages: SnapshotPages;
  readonly signals: ResyncSignals;
  /** Whether the state file vouches for what was told before this start. */
  readonly #continued: boolean;
  readonly #limiter = new LogLimiter();

  constructor(private readonly options: SnapshotOptions) {
    const { store, timers, counters, logger } = options;
    const stored = store?.positions.load();
    this.#continued = stored !== undefined;
    // Increasing across restarts: after the stored one, and never below the
    // wall clock in microseconds, so a lost state file or a memory-mode
    // restart does not start again at 1 (README: unless the clock went back
    // by more than the downtime).
    const clock = timers.clock("resync_signals");
    this.view = new NotifiedView(Math.max((stored ?? 0) + 1, Math.floor(clock.now() * 1000), 1));
    this.pages = new SnapshotPages({ clock: timers.clock("snapshot_expiry"), show: options.show });
    this.signals = new ResyncSignals({
      clock,
      serverUser: options.serverUser,
      serves: (domain) => options.domains.serves(domain),
      known: () => [...this.view.domains(), ...options.domains.known()],
      offer: (s) => this.#offer(s),
      counters,
      logger,
    });
  }

  /** At start, after intake restored its sessions: V from the state file; a resync if it cannot vouch. */
  start(): void {
    const { store } = this.options;
    if (store) this.view.restore(store.sessions.load());
    if (!this.#continued) this.signals.owe("daemon-start");
  }

  /** `n` with its position; durable mode: stored in the transaction that queues `n`. */
  stamp<T extends Notification>(n: T): T {
    const stamped = this.view.stamp(n);
    if (stamped.pos !== undefined) this.options.store?.positions.save(stamped.pos);
    return stamped;
  }

  /** A stamped notification reached the mailbox: V follows it; refused, its server user is owed a resync. */
  entered(n: Notification, offered: boolean): void {
    this.view.entered(n);
    const domain = domainOf(n.to);
    if (offered) this.signals.served(domain);
    else this.signals.owe("mailbox-full", domain);
  }

  /** Every server user (or `domain`'s) must take a new snapshot: a standby taking over calls it. */
  resync(reason: ResyncReason, domain?: string): void {
    this.signals.owe(reason, domain);
  }

  /** The dead-letter list, owing its server user a resync for each notification set aside. */
  deadLetters(table: DeadLetterRecord | undefined): DeadLetters {
    return new SignalledDeadLetters(table, (n) => {
      if (!isResync(n)) this.signals.owe("dead-letter", domainOf(n.to));
    });
  }

  close(): void {
    this.signals.close();
    this.pages.close();
  }

  /** Queues a signal with its position, in its own transaction in durable mode. */
  #offer(s: ResyncSignal): boolean {
    const { mailbox, store } = this.options;
    // Full: not even a transaction (a storm of refusals tries each time).
    if (mailbox.size >= mailbox.capacity) return false;
    const queue = () => {
      const stamped = this.stamp(s);
      return mailbox.offer(stamped) ? stamped : undefined;
    };
    try {
      const queued = store ? store.transaction(queue) : queue();
      if (queued) this.view.entered(queued);
      return queued !== undefined;
    } catch (err) {
      // The state file refused it (disk full): owed still, offered again on the timer.
      const hit = this.#limiter.hit("resync_signal_unwritable");
      if (hit.log) {
        this.options.logger.error(
          { err: excerpt((err as Error).message), count: hit.count },
          "the state file refused a resync signal: kept and offered again",
        );
      }
      return false;
    }
  }
}

/** Dead letters that tell, for each one set aside, that a server user missed a notification. */
class SignalledDeadLetters extends DeadLetters {
  constructor(
    table: DeadLetterRecord | undefined,
    private readonly told: (n: Notification) => void,
  ) {
    super(table);
  }

  override add(notification: Notification, reason: string, failures: number, at: number): void {
    super.add(notification, reason, failures, at);
    this.told(notification);
  }
}
