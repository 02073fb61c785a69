import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";

const NS_SNAPSHOT = "urn:flux:presence:snapshot:0";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_FLUX = "flux:xmpp";

/** One session change as the payload carries it. */
export interface Change {
  readonly trace: string;
  readonly user: string;
  readonly presence: string;
  readonly pos: number | undefined;
}

interface Sync {
  /** The snapshot's position, from its first page. */
  position?: number;
  readonly items: string[];
  /** The uid of the last item received, for `<after/>`. */
  last?: string;
  /** The id of the request awaiting its result, if one is out. */
  waiting?: string;
}

/**
 * The consumer of PROTOCOL.md's splice rule, written from the document
 * alone, for the property and end-to-end tests (the package's consumer
 * library is a separate thing):
 * - on (re)connect, or on a resync whose position is past the snapshot it
 *   rests on: page a new snapshot, buffering the notifications meanwhile;
 * - the view is the snapshot (at position P), then each notification with
 *   pos > P and past the last one applied for its session, in any order
 *   they come (so resends and reorderings are dropped).
 * It counts how often each position was applied: at most once is the promise.
 */
export class SpliceConsumer {
  readonly view = new Set<string>();
  /** pos -> times applied. */
  readonly applied = new Map<number, number>();
  /** The position of the snapshot the view rests on; undefined before the first. */
  position: number | undefined;
  /** Snapshots completed. */
  synced = 0;
  #sync: Sync | undefined;
  #buffer: Change[] = [];
  readonly #lastPos = new Map<string, number>();
  #ids = 0;

  constructor(
    private readonly options: {
      /** The component's JID (the requests' `to`; only its stanzas count). */
      component: string;
      /** Page size asked for (`<max/>`). */
      max: number;
    },
  ) {}

  get syncing(): boolean {
    return this.#sync !== undefined;
  }

  /** Starts (again) from a new snapshot; what was paged so far is thrown away. */
  startSync(): void {
    this.#sync = { items: [] };
  }

  /** The snapshot request to send now, if one is due. */
  nextRequest(): Element | undefined {
    const sync = this.#sync;
    if (sync === undefined || sync.waiting !== undefined) return undefined;
    const id = `snap-${++this.#ids}`;
    sync.waiting = id;
    const set = xml(
      "set",
      { xmlns: NS_RSM },
      xml("max", {}, String(this.options.max)),
      sync.last === undefined ? undefined : xml("after", {}, sync.last),
    );
    return xml(
      "iq",
      { type: "get", id, to: this.options.component },
      xml("snapshot", { xmlns: NS_SNAPSHOT }, set),
    );
  }

  /** Any stanza the server user's connection received. */
  receive(stanza: Element): void {
    if (stanza.attrs.from !== this.options.component) return;
    if (stanza.name === "iq") this.#result(stanza);
    if (stanza.name !== "message") return;
    const resync = stanza.getChild("resync", NS_SNAPSHOT);
    if (resync) {
      this.#resync(Number(resync.attrs.position));
      return;
    }
    const event = stanza.getChild("event", NS_FLUX);
    if (event) for (const change of changesOf(JSON.parse(event.getText()))) this.#change(change);
  }

  #resync(position: number): void {
    const base = this.#sync ? this.#sync.position : this.position;
    // A snapshot taken after the signal already covers what it is about.
    if (base !== undefined && position <= base) return;
    this.startSync();
  }

  #change(change: Change): void {
    if (this.#sync) this.#buffer.push(change);
    else this.#apply(change);
  }

  #apply(c: Change): void {
    // Without a position it predates notify.snapshot: any snapshot covers it.
    if (c.pos === undefined || this.position === undefined || c.pos <= this.position) return;
    if (c.pos <= (this.#lastPos.get(c.user) ?? Number.NEGATIVE_INFINITY)) return;
    this.#lastPos.set(c.user, c.pos);
    if (c.presence === "available") this.view.add(c.user);
    else this.view.delete(c.user);
    this.applied.set(c.pos, (this.applied.get(c.pos) ?? 0) + 1);
  }

  #result(iq: Element): void {
    const sync = this.#sync;
    if (sync === undefined || iq.attrs.id !== sync.waiting) return;
    sync.waiting = undefined;
    if (iq.attrs.type === "error") {
      // Expired or given up (item-not-found): from the start; too fast: again later.
      if (iq.getChild("error")?.getChild("item-not-found")) this.startSync();
      return;
    }
    const snapshot = iq.getChild("snapshot", NS_SNAPSHOT);
    const set = snapshot?.getChild("set", NS_RSM);
    if (!snapshot || !set) throw new Error(`not a snapshot result: ${iq.toString()}`);
    sync.position ??= Number(snapshot.attrs.position);
    const items = snapshot.getChildren("session").map((s) => s.attrs.user ?? "");
    sync.items.push(...items);
    const first = set.getChild("first");
    sync.last = set.getChildText("last") ?? sync.last;
    const count = Number(set.getChildText("count"));
    const end = first ? Number(first.attrs.index) + items.length : count;
    if (items.length > 0 && end < count) return;
    this.#complete(sync);
  }

  #complete(sync: Sync): void {
    this.#sync = undefined;
    this.view.clear();
    for (const jid of sync.items) this.view.add(jid);
    this.position = sync.position;
    this.#lastPos.clear();
    this.synced++;
    const buffered = this.#buffer;
    this.#buffer = [];
    for (const change of buffered) this.#apply(change);
  }
}

/** The changes of a notification's or a batch's JSON. */
function changesOf(payload: {
  trace: string;
  type: string;
  args: Record<string, unknown>;
}): Change[] {
  const one = (c: Record<string, unknown>, trace: unknown): Change => ({
    trace: String(trace),
    user: String(c.user),
    presence: String(c.presence),
    pos: typeof c.pos === "number" ? c.pos : undefined,
  });
  if (payload.type === "PRESENCE_DID_CHANGE_BATCH") {
    return (payload.args.changes as Record<string, unknown>[]).map((c) => one(c, c.trace));
  }
  return [one(payload.args, payload.trace)];
}
