import type { Clock } from "../otp/clock.js";
import type { Notification, PresenceValue } from "../protocol/notification.js";

/** One notification the link accepted, as the dashboard lists it. */
export interface SentRecord {
  /** When the link accepted it (ms on the daemon's clock). */
  readonly at: number;
  readonly trace: string;
  readonly user: string;
  readonly presence: PresenceValue;
  readonly to: string;
  /** From `queuedAt` to the link accepting it: queueing, outage and hold time included. */
  readonly latencyMs: number;
}

/**
 * What the notifier sent, as the admin listener sees it: the latest few for
 * the dashboard, and each one's latency for the metrics histogram. The
 * notifier calls `record` (its `onSent` dep) after the link accepted a send;
 * this is the only bookkeeping the admin listener adds to the send path.
 */
export class SentFeed {
  readonly #latest: SentRecord[] = [];
  readonly #listeners = new Set<(record: SentRecord) => void>();

  constructor(
    private readonly clock: Pick<Clock, "now">,
    /** How many of the latest sends are kept. */
    readonly keep = 50,
  ) {}

  /** The notifier's `onSent`. An arrow, so it can be handed over as it is. */
  readonly record = (sent: readonly Notification[]): void => {
    const at = this.clock.now();
    for (const n of sent) {
      const record: SentRecord = {
        at,
        trace: n.trace,
        user: n.user,
        presence: n.presence,
        to: n.to,
        latencyMs: Math.max(0, at - n.queuedAt),
      };
      this.#latest.push(record);
      if (this.#latest.length > this.keep) this.#latest.shift();
      for (const listener of this.#listeners) listener(record);
    }
  };

  /** Newest first. */
  latest(): SentRecord[] {
    return [...this.#latest].reverse();
  }

  /** Calls `listener` for every send from now on; returns the unsubscribe. */
  onSent(listener: (record: SentRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
