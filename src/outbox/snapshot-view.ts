import type { Notification } from "../protocol/notification.js";
import { isResync } from "./snapshot-signal.js";

/**
 * The notified view V and the positions (`notify.snapshot`), kept where a
 * notification enters the mailbox (src/outbox/enqueue.ts): after the flap
 * damper and the per-user rate, so a transition they hold back is not in V
 * and gets its position only when it enters, after any snapshot taken
 * meanwhile. A position given at creation would be older than such a
 * snapshot and the consumer would drop the transition: a gap.
 *
 * V, per user domain (one server user each): the sessions whose last
 * transition that reached the mailbox was `available`, whether the mailbox
 * took it or, full, refused it. So V is what the server user believes once
 * it has read everything queued, except for what was lost on the way; each
 * loss owes that server user a resync signal (src/outbox/snapshot.ts),
 * after which a snapshot repairs it. Durable mode: equal to the `sessions`
 * table by construction (both follow each commit, refused or not).
 *
 * Positions: strictly increasing over the daemon's life, with gaps (a
 * position given in a transaction that rolled back is never used).
 */
export class NotifiedView {
  readonly #byDomain = new Map<string, Set<string>>();
  #next: number;
  #last: number;

  /** `first`: the position the first notification gets. */
  constructor(first: number) {
    this.#next = first;
    this.#last = first - 1;
  }

  /** `n` with the next position. */
  stamp<T extends Notification>(n: T): T {
    return { ...n, pos: this.#next++ };
  }

  /** A stamped notification (or signal) reached the mailbox, taken or refused: V follows it. */
  entered(n: Notification): void {
    if (n.pos !== undefined && n.pos > this.#last) this.#last = n.pos;
    if (isResync(n)) return;
    const domain = domainOf(n.to);
    let sessions = this.#byDomain.get(domain);
    if (n.presence === "available") {
      if (sessions === undefined) {
        sessions = new Set();
        this.#byDomain.set(domain, sessions);
      }
      // `n.user` is parseFullJid's flat string (or the state file's), never
      // a slice of a network chunk: kept as it is (src/protocol/jid.ts).
      sessions.add(n.user);
    } else if (sessions?.delete(n.user) && sessions.size === 0) {
      this.#byDomain.delete(domain);
    }
  }

  /** The position of the last notification V reflects: a snapshot taken now is at it. */
  get position(): number {
    return this.#last;
  }

  /** The sessions of `domain` in V (live: copy before the next notification enters). */
  sessions(domain: string): ReadonlySet<string> {
    return this.#byDomain.get(domain) ?? EMPTY;
  }

  /** The domains with a session in V. */
  domains(): Iterable<string> {
    return this.#byDomain.keys();
  }

  /** Durable mode, at start: the sessions the state file says were told `available`. */
  restore(fullJids: Iterable<string>): void {
    for (const jid of fullJids) {
      const at = jid.indexOf("@");
      const slash = jid.indexOf("/", at + 1);
      if (at < 0 || slash < 0) continue;
      const domain = jid.slice(at + 1, slash);
      let sessions = this.#byDomain.get(domain);
      if (sessions === undefined) {
        sessions = new Set();
        this.#byDomain.set(domain, sessions);
      }
      sessions.add(jid);
    }
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** The domain of a bare JID (`world@example.com` -> `example.com`). */
export function domainOf(bare: string): string {
  return bare.slice(bare.indexOf("@") + 1);
}
