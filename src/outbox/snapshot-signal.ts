import { randomUUID } from "node:crypto";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import type { Clock } from "../otp/clock.js";
import type { Notification } from "../protocol/notification.js";
import { xmlChars } from "../protocol/xml-char.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";

/** The namespace of the snapshot extension (PROTOCOL.md): the IQ, the signal, the disco feature. */
export const NS_SNAPSHOT = "urn:flux:presence:snapshot:0";

/** Why the daemon cannot vouch for what a server user was told (PROTOCOL.md, "Resync"). */
export type ResyncReason =
  | "daemon-start"
  | "takeover"
  | "dead-letter"
  | "overflow"
  | "mailbox-full";

/**
 * A resync signal, queued in the mailbox like a notification so it goes out
 * in order with them (never overtaken): the notifier, held mail, receipts
 * and the state file carry it unchanged. It is no session's transition:
 * `user` names its server user and `presence` is unused (the store's
 * columns require one); `stanzaFor` (src/outbox/stanzas.ts) builds its own
 * message, and a batch never takes one.
 */
export interface ResyncSignal extends Notification {
  readonly resync: ResyncReason;
}

export const isResync = (n: Notification): n is ResyncSignal =>
  (n as Partial<ResyncSignal>).resync !== undefined;

export function resyncSignal(to: string, reason: ResyncReason, queuedAt: number): ResyncSignal {
  return {
    trace: randomUUID(),
    user: to,
    userBare: to,
    presence: "unavailable",
    to,
    queuedAt,
    resync: reason,
  };
}

/**
 * The signal's message: same envelope as a notification (type chat, a body,
 * id = trace), so the server routes, bounces and stores it the same way;
 * a consumer that did not opt in finds no `<event>` and ignores it.
 */
export function resyncStanza(s: ResyncSignal, from: string): Element {
  return xml(
    "message",
    {
      type: "chat",
      id: xmlChars("id", s.trace),
      from: xmlChars("from", from),
      to: xmlChars("to", s.to),
    },
    xml("body", {}, "Presence resync"),
    xml("resync", {
      xmlns: NS_SNAPSHOT,
      reason: s.resync,
      ...(s.pos === undefined ? {} : { position: String(s.pos) }),
    }),
  );
}

/** How long a signal the mailbox (or the state file) refused waits before it is offered again. */
const RETRY_MS = 1_000;

/**
 * The resync signals owed, one per user domain (its server user), until the
 * mailbox takes them. "Everyone" (a start without durable state, a standby
 * taking over) is owed to every domain served now and, once, to each one
 * that turns out to be served later (an advertisement, a first
 * notification): the server's hosts are not known before it tells them.
 * Bounded by the number of domains served.
 */
export class ResyncSignals {
  readonly #owed = new Map<string, ResyncReason>();
  /** Every domain seen served this run: whom "everyone" means besides `known()`. */
  readonly #served = new Set<string>();
  #everyone: { reason: ResyncReason; told: Set<string> } | undefined;
  #timer: unknown;
  #closed = false;

  constructor(
    private readonly deps: {
      /** A `TimerGuard` clock ("resync_signals"). */
      clock: Clock;
      serverUser: () => string;
      serves: (domain: string) => boolean;
      /** The domains known to be served now, besides those of the notified view. */
      known: () => Iterable<string>;
      /** Stamps and queues a signal; false when the mailbox is full or the state file refused it. */
      offer: (s: ResyncSignal) => boolean;
      counters: Counters;
      logger: Logger;
    },
  ) {}

  /** `domain`'s server user (without one: every server user) must take a new snapshot. */
  owe(reason: ResyncReason, domain?: string): void {
    if (domain !== undefined) {
      if (!this.#owed.has(domain)) this.#owed.set(domain, reason);
    } else {
      this.#everyone = { reason, told: new Set() };
      for (const d of this.deps.known()) if (this.deps.serves(d)) this.#tell(d);
      for (const d of this.#served) this.#tell(d);
    }
    this.flush();
  }

  /** `domain` is served (a notification for it entered, or its server advertised it). */
  served(domain: string): void {
    this.#served.add(domain);
    if (this.#everyone === undefined || this.#everyone.told.has(domain)) return;
    this.#tell(domain);
    this.flush();
  }

  /** Queues what is owed, in domain order; what the mailbox refuses waits for the timer. */
  flush(): void {
    for (const [domain, reason] of this.#owed) {
      const to = `${this.deps.serverUser()}@${domain}`;
      if (!this.deps.offer(resyncSignal(to, reason, this.deps.clock.now()))) {
        this.#retry();
        return;
      }
      this.#owed.delete(domain);
      this.deps.counters.inc("resync_signals_queued");
      this.deps.logger.info(
        { to, reason },
        "resync signal queued: the server user takes a new snapshot",
      );
    }
  }

  /** Domains owed a signal not queued yet. */
  get owed(): number {
    return this.#owed.size;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tell(domain: string): void {
    const everyone = this.#everyone;
    if (everyone === undefined) return;
    everyone.told.add(domain);
    if (!this.#owed.has(domain)) this.#owed.set(domain, everyone.reason);
  }

  #retry(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = this.deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, RETRY_MS);
  }
}
