import type { Clock } from "../otp/clock.js";
import { canonicalBare } from "../protocol/jid.js";
import type { Notification } from "../protocol/notification.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { LogLimiter } from "../telemetry/log-limiter.js";

/**
 * Notifications the server bounced because their server user was offline
 * (RFC 6120 8.3.3.19 service-unavailable, when there is no offline storage),
 * kept per destination and sent again, in order, when that server user comes
 * back (we see its presence) or when a backoff timer says try again.
 *
 * While a destination has anything held, newer notifications for it are held
 * behind, so nothing overtakes a bounced one. Held mail is bounded by
 * `capacity` (past it the oldest is dropped, counted and logged as
 * presence_notify_error) and, in durable mode, kept in the state file.
 *
 * Destinations are keyed by canonical bare JID (src/protocol/jid.ts): the
 * server user's presence, a notification restored from the state file and
 * the configuration may spell one account differently.
 */
interface Destination {
  items: Notification[];
  attempt: number;
  timer: unknown;
}

export class HeldMail {
  private readonly held = new Map<string, Destination>();
  private readonly released: Notification[] = [];
  private readonly pendingByDestination = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  // A storm while a server user is offline drops one notification per presence.
  private readonly limiter = new LogLimiter(1);
  private total = 0;

  constructor(
    private readonly deps: {
      clock: Clock;
      /** Delay before retry `attempt` (1-based) of a destination. */
      backoff: (attempt: number) => number;
      capacity: number;
      counters: Counters;
      logger: Logger;
      /** Durable mode: where held mail is kept across a crash. */
      table?: {
        add(n: Notification): void;
        remove(trace: string): void;
        load(): Notification[];
      };
    },
  ) {}

  /** Durable mode, at start: the held mail of the last run, each destination on its retry timer. */
  restore(): void {
    const restored = this.deps.table?.load() ?? [];
    for (const n of restored) this.keep(n);
    if (restored.length > 0)
      this.deps.logger.info({ notifications: restored.length }, "held notifications restored");
  }

  /** Held or released-but-unsent notifications. */
  get size(): number {
    return this.total;
  }

  get releasedCount(): number {
    return this.released.length;
  }

  /** Whether new mail for `to` must wait behind held mail. */
  isHeld(to: string): boolean {
    // Nothing held (the usual case): no need to work out the key.
    if (this.pendingByDestination.size === 0) return false;
    return (this.pendingByDestination.get(destinationOf(to)) ?? 0) > 0;
  }

  /** Keeps a bounced notification, or one that must not overtake it. */
  hold(n: Notification): void {
    this.deps.table?.add(n);
    this.keep(n);
  }

  private keep(n: Notification): void {
    const to = destinationOf(n.to);
    let dest = this.held.get(to);
    if (!dest) {
      dest = { items: [], attempt: 0, timer: undefined };
      this.held.set(to, dest);
    }
    dest.items.push(n);
    this.count(to, +1);
    if (this.total > this.deps.capacity) this.dropOldest(dest, to);
    if (dest.timer === undefined) {
      dest.attempt++;
      dest.timer = this.deps.clock.setTimeout(
        () => this.release(to, "retry"),
        this.deps.backoff(dest.attempt),
      );
    }
  }

  /** The server user `to` is back (or a retry is due): send its mail again, in order. */
  release(serverUser: string, why: "online" | "retry"): void {
    const to = destinationOf(serverUser);
    const dest = this.held.get(to);
    if (!dest) return;
    if (dest.timer !== undefined) this.deps.clock.clearTimeout(dest.timer);
    dest.timer = undefined;
    if (why === "online") dest.attempt = 0;
    if (dest.items.length === 0) return;
    this.deps.logger.info(
      { to, notifications: dest.items.length, why },
      "sending held notifications again",
    );
    this.released.push(...dest.items);
    dest.items = [];
    for (const listener of this.listeners) listener();
  }

  peekReleased(): Notification | undefined {
    return this.released[0];
  }

  /** The released head was sent. */
  shiftReleased(): void {
    const n = this.released.shift();
    if (!n) return;
    this.deps.table?.remove(n.trace);
    this.count(destinationOf(n.to), -1);
  }

  /** Stops the retry timers (the daemon is stopping); held mail stays readable. */
  close(): void {
    for (const dest of this.held.values()) {
      if (dest.timer !== undefined) this.deps.clock.clearTimeout(dest.timer);
      dest.timer = undefined;
    }
  }

  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private dropOldest(dest: Destination, to: string): void {
    const dropped = dest.items.shift();
    if (!dropped) return;
    this.deps.table?.remove(dropped.trace);
    this.count(to, -1);
    this.deps.counters.inc("notifications_dropped_held_full");
    const hit = this.limiter.hit("dropped");
    if (!hit.log) return;
    this.deps.logger.error(
      {
        count: hit.count,
        event: "presence_notify_error",
        trace: dropped.trace,
        user: dropped.user,
        presence: dropped.presence,
        to,
      },
      "presence_notify_error: too many held notifications, oldest dropped",
    );
  }

  private count(to: string, delta: number): void {
    const next = (this.pendingByDestination.get(to) ?? 0) + delta;
    if (next > 0) this.pendingByDestination.set(to, next);
    else {
      this.pendingByDestination.delete(to);
      // Forget a destination only once it is known to be back (attempt reset
      // by its presence): otherwise the next bounce would restart the backoff.
      const dest = this.held.get(to);
      if (dest && dest.items.length === 0 && dest.timer === undefined && dest.attempt === 0) {
        this.held.delete(to);
      }
    }
    this.total += delta;
  }
}

function destinationOf(to: string): string {
  return canonicalBare(to) ?? to;
}
