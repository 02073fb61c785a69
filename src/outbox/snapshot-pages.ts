import { randomBytes } from "node:crypto";
import xmlModule from "@xmpp/xml";
import { type Bucket, fullBucket, refill, take } from "../collections/token-bucket.js";
import type { Clock } from "../otp/clock.js";

// CommonJS: its named exports only through the default one (on real Node).
const { escapeXML } = xmlModule;

/**
 * The bounds of the snapshot IQ (PROTOCOL.md). A page holds at most `max`
 * sessions (XEP-0059 section 2.1 lets the responder return fewer than asked)
 * and at most about `bytes` of escaped JIDs: far below what a server takes
 * from a component (Prosody: 512 KiB) and what clients are commonly allowed
 * to receive (ejabberd's packaged c2s `max_stanza_size`: 256 KiB).
 */
export const PAGE = { defaultMax: 500, max: 1_000, bytes: 48_000 } as const;

/**
 * A snapshot of a domain's sessions is frozen (copied) at its first page,
 * so later pages read the view as it was. At most `perUser` are kept per
 * server user, the least recently read given up for a new one; each is
 * given up after `idleMs` without a page, or once its last page was read.
 * A copy costs O(sessions): at most `rate` a second per server user
 * (`burst` at once).
 */
export const FROZEN = { perUser: 2, idleMs: 60_000, rate: 1, burst: 3 } as const;

export interface Page {
  /** The position the snapshot was taken at. */
  readonly position: number;
  /** Sessions in the whole snapshot (RSM `<count>`). */
  readonly count: number;
  /** This page's sessions, as shown. */
  readonly items: readonly string[];
  /** The RSM uids of the first (with its index) and last item; none on an empty page. */
  readonly first?: { readonly uid: string; readonly index: number };
  readonly last?: string;
}

/** An RFC 6120 condition and a sentence for the requester. */
export interface Refusal {
  readonly condition: "item-not-found" | "resource-constraint";
  readonly text: string;
}

interface Frozen {
  readonly id: string;
  readonly items: readonly string[];
  readonly position: number;
  usedAt: number;
}

// 12 base64url characters (72 random bits), then ":" and the item's index.
const CURSOR = /^([A-Za-z0-9_-]{12}):(\d{1,10})$/;

/**
 * The frozen snapshots and their cursors, per server user (its domain).
 * Each request costs at most one copy (rate-limited) and one page; the
 * memory is at most `perUser` copies of each domain's view (references to
 * the view's strings, 8 bytes a session).
 */
export class SnapshotPages {
  readonly #frozen = new Map<string, Frozen[]>();
  readonly #freezes = new Map<string, Bucket>();
  #timer: unknown;
  #closed = false;

  constructor(
    private readonly deps: {
      /** A `TimerGuard` clock ("snapshot_expiry"). */
      clock: Clock;
      /** What a session's JID shows as (the payload pseudonym, if on). */
      show: (jid: string) => string;
    },
  ) {}

  /** The first page of a new snapshot of `sessions` (a domain's view) at `position`. */
  first(
    domain: string,
    sessions: ReadonlySet<string>,
    position: number,
    max: number,
  ): Page | Refusal {
    if (max === 0) return { position, count: sessions.size, items: [] };
    const now = this.deps.clock.now();
    const bucket = take(
      refill(
        this.#freezes.get(domain) ?? fullBucket(FROZEN.burst, now),
        now,
        FROZEN.rate,
        FROZEN.burst,
      ),
    );
    if (bucket === undefined) {
      return {
        condition: "resource-constraint",
        text: "snapshots are asked for too often: retry in a second",
      };
    }
    this.#freezes.set(domain, bucket);
    const frozen: Frozen = {
      id: randomBytes(9).toString("base64url"),
      items: Array.from(sessions),
      position,
      usedAt: now,
    };
    const page = this.#page(frozen, 0, max);
    if (!this.#done(frozen, page)) this.#keep(domain, frozen);
    return page;
  }

  /** The page after the item `cursor` names (RSM `<after>`), of a snapshot frozen before. */
  after(domain: string, cursor: string, max: number): Page | Refusal {
    const match = CURSOR.exec(cursor);
    const list = this.#frozen.get(domain);
    const frozen = match && list?.find((f) => f.id === match[1]);
    const index = Number(match?.[2]);
    if (!frozen || !(index < frozen.items.length)) {
      return {
        condition: "item-not-found",
        text: "no such snapshot item (expired, finished or never given): ask for a new snapshot",
      };
    }
    frozen.usedAt = this.deps.clock.now();
    // Most recently read last: the first one is given up first.
    list?.splice(list.indexOf(frozen), 1);
    list?.push(frozen);
    const page = this.#page(frozen, index + 1, max);
    if (max > 0 && this.#done(frozen, page)) this.#drop(domain, frozen);
    return page;
  }

  /** Snapshots frozen now, every server user together. */
  get frozen(): number {
    let n = 0;
    for (const list of this.#frozen.values()) n += list.length;
    return n;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#frozen.clear();
  }

  #page(frozen: Frozen, start: number, max: number): Page {
    const { show } = this.deps;
    const items: string[] = [];
    let bytes = 0;
    const end = Math.min(frozen.items.length, start + Math.min(max, PAGE.max));
    for (let i = start; i < end; i++) {
      const shown = show(frozen.items[i] as string);
      // `<session user=""/>` and the escaped JID; one item always fits.
      bytes += 20 + Buffer.byteLength(escapeXML(shown));
      if (items.length > 0 && bytes > PAGE.bytes) break;
      items.push(shown);
    }
    const { id, position } = frozen;
    const count = frozen.items.length;
    if (items.length === 0) return { position, count, items };
    const lastIndex = start + items.length - 1;
    return {
      position,
      count,
      items,
      first: { uid: `${id}:${start}`, index: start },
      last: `${id}:${lastIndex}`,
    };
  }

  /** Whether `page` reached the end of `frozen`. */
  #done(frozen: Frozen, page: Page): boolean {
    const last = page.first === undefined ? -1 : page.first.index + page.items.length - 1;
    return last >= frozen.items.length - 1;
  }

  #keep(domain: string, frozen: Frozen): void {
    const list = this.#frozen.get(domain) ?? [];
    if (list.length >= FROZEN.perUser) list.shift();
    list.push(frozen);
    this.#frozen.set(domain, list);
    this.#arm();
  }

  #drop(domain: string, frozen: Frozen): void {
    const list = this.#frozen.get(domain);
    if (list === undefined) return;
    const at = list.indexOf(frozen);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#frozen.delete(domain);
  }

  /** One timer, at the earliest expiry; a snapshot read since is looked at again then. */
  #arm(): void {
    if (this.#closed || this.#timer !== undefined) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const list of this.#frozen.values()) {
      for (const f of list) earliest = Math.min(earliest, f.usedAt + FROZEN.idleMs);
    }
    if (earliest === Number.POSITIVE_INFINITY) return;
    const delay = Math.max(0, earliest - this.deps.clock.now());
    this.#timer = this.deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
    }, delay);
  }

  #expire(): void {
    const now = this.deps.clock.now();
    for (const [domain, list] of this.#frozen) {
      const live = list.filter((f) => now - f.usedAt < FROZEN.idleMs);
      if (live.length === 0) this.#frozen.delete(domain);
      else this.#frozen.set(domain, live);
    }
    this.#arm();
  }
}
