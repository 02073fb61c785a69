import { randomUUID } from "node:crypto";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import {
  type Connection,
  type ConnectionHandlers,
  type Connector,
  CredentialsRefused,
} from "../../src/client/connection.js";
import { type SigningKey, signer } from "../../src/protocol/signature.js";
import { parseXml } from "./xml.js";

/**
 * An in-memory XMPP server with the daemon behind it, as the server user's
 * client sees them: every stanza crosses as XML text and is parsed back by
 * xmpp.js's parser. The daemon side follows the snapshot design
 * (/work/notes/issue17-design.md): a position is taken when a notification
 * enters the mailbox, the notified view V changes with it, a snapshot
 * freezes V at the last position and is paged by RSM cursors `ID:INDEX`.
 * The test decides when each queued message is delivered (in any order,
 * again, or batched) and when each IQ is answered.
 */

export const COMPONENT = "presence.localhost";
export const WORLD = "world@localhost";
export const NS_SNAPSHOT = "urn:flux:presence:snapshot:0";
const NS_RSM = "http://jabber.org/protocol/rsm";
const NS_DISCO = "http://jabber.org/protocol/disco#info";

export interface Queued {
  readonly trace: string;
  readonly user: string;
  readonly presence: "available" | "unavailable";
  readonly pos: number;
  readonly seq: number;
}

type Outgoing =
  | { readonly kind: "change"; readonly n: Queued }
  | {
      readonly kind: "resync";
      readonly reason: string;
      readonly position: number;
      readonly id: string;
    };

export interface PeerOptions {
  /** What disco#info says: the feature, a result without it, an error (today's daemon), or nothing. */
  disco?: "snapshot" | "plain" | "error" | "silent";
  /** Send `args.pos` (the snapshot feature on). Default: with `disco: "snapshot"`. */
  pos?: boolean;
  seq?: boolean;
  receipts?: boolean;
  sign?: SigningKey;
  /** The daemon's cap on RSM `<max>`. */
  maxPage?: number;
  firstPosition?: number;
  /** Answer every snapshot request with this error condition (`forbidden`: not a server user). */
  snapshotError?: string;
}

export class MemoryPresencePeer {
  /** The truth: V, as the daemon's mailbox has it. */
  readonly notified = new Set<string>();
  position: number;
  /** Waiting for delivery, in mailbox order (held while the client is offline). */
  readonly pending: Outgoing[] = [];
  /** Delivered at least once: what a resend repeats. */
  readonly delivered: Outgoing[] = [];
  /** IQ requests from the client, not yet answered. */
  readonly requests: Element[] = [];
  readonly receipts: string[] = [];
  /** Every change pushed to the client, in order, resends and batch members included. */
  readonly pushed: Queued[] = [];
  readonly presences: Element[] = [];
  readonly fromClient: Element[] = [];
  /** How the next connection attempt ends. */
  nextLogin: "ok" | "refuse" | "fail" = "ok";
  /** The next connection drops while the client's initial presence is being sent. */
  dropOnPresence = false;
  logins = 0;
  private handlers: ConnectionHandlers | undefined;
  private readonly frozen = new Map<string, { position: number; sessions: string[] }>();
  private readonly seqs = new Map<string, number>();
  readonly options: Required<Omit<PeerOptions, "sign" | "snapshotError">> &
    Pick<PeerOptions, "sign" | "snapshotError">;

  constructor(options: PeerOptions = {}) {
    const disco = options.disco ?? "snapshot";
    this.options = {
      disco,
      pos: options.pos ?? disco === "snapshot",
      seq: options.seq ?? false,
      receipts: options.receipts ?? false,
      maxPage: options.maxPage ?? 1000,
      firstPosition: options.firstPosition ?? 1_000,
      ...(options.sign ? { sign: options.sign } : {}),
      ...(options.snapshotError ? { snapshotError: options.snapshotError } : {}),
    };
    this.position = this.options.firstPosition;
  }

  get connected(): boolean {
    return this.handlers !== undefined;
  }

  readonly connector: Connector = async (handlers) => {
    this.logins++;
    await Promise.resolve();
    if (this.nextLogin === "refuse") throw new CredentialsRefused("not-authorized");
    if (this.nextLogin === "fail") throw new Error("connection refused");
    this.handlers = handlers;
    const connection: Connection = {
      jid: `${WORLD}/test`,
      send: async (stanza) => {
        if (this.handlers !== handlers) throw new Error("socket closed");
        this.receive(parseXml(stanza.toString()));
        if (stanza.name === "presence" && this.dropOnPresence) {
          this.dropOnPresence = false;
          await Promise.resolve();
          this.drop(); // the write went out, then the socket died
        }
      },
      close: async () => {
        if (this.handlers === handlers) this.handlers = undefined;
      },
    };
    return connection;
  };

  /** A session's transition enters the mailbox: a position, V, a queued notification. */
  transition(user: string, presence: "available" | "unavailable"): Queued {
    this.position += 1;
    if (presence === "available") this.notified.add(user);
    else this.notified.delete(user);
    const seq = (this.seqs.get(user) ?? 0) + 1;
    this.seqs.set(user, seq);
    const n: Queued = { trace: randomUUID(), user, presence, pos: this.position, seq };
    this.pending.push({ kind: "change", n });
    return n;
  }

  /** The resync signal, through the mailbox like a notification. */
  resync(reason: string): void {
    this.pending.push({ kind: "resync", reason, position: this.position, id: randomUUID() });
  }

  /** Delivers the queued message at `index` (held if the client is offline). */
  deliver(index = 0): boolean {
    const item = this.pending[index];
    if (!item || !this.handlers) return false;
    this.pending.splice(index, 1);
    this.delivered.push(item);
    if (item.kind === "change") this.pushChanges([item.n]);
    else this.push(this.resyncMessage(item));
    return true;
  }

  /** Up to `count` queued notifications from the front as one PRESENCE_DID_CHANGE_BATCH. */
  deliverBatch(count: number): boolean {
    if (!this.handlers) return false;
    const batch: Queued[] = [];
    while (batch.length < count && this.pending[0]?.kind === "change") {
      const item = this.pending.shift() as Outgoing & { kind: "change" };
      this.delivered.push(item);
      batch.push(item.n);
    }
    if (batch.length === 0) return false;
    this.pushChanges(batch);
    return true;
  }

  /** Sends a delivered message again, same trace and position (a resend). */
  resend(index: number): boolean {
    const item = this.delivered[index];
    if (!item || !this.handlers) return false;
    if (item.kind === "change") this.pushChanges([item.n]);
    else this.push(this.resyncMessage(item));
    return true;
  }

  /** Answers the oldest IQ request; false when there is none. */
  answer(): boolean {
    const iq = this.requests.shift();
    if (!iq) return false;
    if (this.options.disco === "silent" && iq.getChild("query", NS_DISCO)) return true;
    this.push(this.reply(iq));
    return true;
  }

  /** The daemon forgets its frozen snapshots (the 60 s expiry): cursors give item-not-found. */
  expire(): void {
    this.frozen.clear();
  }

  /** The connection drops (the server user's session is gone). */
  drop(): void {
    const handlers = this.handlers;
    this.handlers = undefined;
    this.requests.length = 0;
    handlers?.closed("test dropped the connection");
  }

  /** Any stanza, as text, to the client (forgeries, junk). */
  inject(text: string): void {
    this.handlers?.stanza(parseXml(text));
  }

  private push(stanza: Element): void {
    this.handlers?.stanza(parseXml(stanza.toString()));
  }

  private receive(stanza: Element): void {
    // The server stamps the sender (RFC 6120 section 8.1.2.1).
    stanza.attrs.from ??= `${WORLD}/test`;
    this.fromClient.push(stanza);
    if (stanza.name === "iq") this.requests.push(stanza);
    if (stanza.name === "presence") this.presences.push(stanza);
    const received = stanza.getChild("received", "urn:xmpp:receipts");
    if (stanza.name === "message" && received) this.receipts.push(received.attrs.id ?? "");
  }

  private pushChanges(batch: readonly Queued[]): void {
    this.pushed.push(...batch);
    this.push(this.changeMessage(batch));
  }

  changeMessage(batch: readonly Queued[], from = COMPONENT): Element {
    const sign = this.options.sign ? signer(this.options.sign) : undefined;
    const fields = (n: Queued) => ({
      user: n.user,
      presence: n.presence,
      ...(this.options.seq ? { seq: n.seq } : {}),
      ...(this.options.pos ? { pos: n.pos } : {}),
    });
    const sig = (n: Queued) =>
      sign
        ? {
            sig: sign({
              trace: n.trace,
              to: WORLD,
              user: n.user,
              presence: n.presence,
              ...(this.options.seq ? { seq: n.seq } : {}),
            }),
          }
        : {};
    const [only] = batch;
    const trace = batch.length === 1 && only ? only.trace : randomUUID();
    const payload =
      batch.length === 1 && only
        ? { trace, type: "PRESENCE_DID_CHANGE", args: fields(only), ...sig(only) }
        : {
            trace,
            type: "PRESENCE_DID_CHANGE_BATCH",
            args: { changes: batch.map((n) => ({ trace: n.trace, ...fields(n), ...sig(n) })) },
          };
    return xml(
      "message",
      { type: "chat", id: trace, from, to: WORLD },
      xml("body", {}, "Presence update"),
      xml("event", { xmlns: "flux:xmpp", mime: "application/json" }, JSON.stringify(payload)),
      this.options.receipts ? xml("request", { xmlns: "urn:xmpp:receipts" }) : null,
    );
  }

  private resyncMessage(r: { reason: string; position: number; id: string }): Element {
    return xml(
      "message",
      { from: COMPONENT, to: WORLD, id: r.id },
      xml("resync", { xmlns: NS_SNAPSHOT, reason: r.reason, position: String(r.position) }),
      this.options.receipts ? xml("request", { xmlns: "urn:xmpp:receipts" }) : null,
    );
  }

  private reply(iq: Element): Element {
    const head = { id: iq.attrs.id, from: COMPONENT, to: `${WORLD}/test` };
    const error = (condition: string) =>
      xml(
        "iq",
        { ...head, type: "error" },
        xml(
          "error",
          { type: "cancel" },
          xml(condition, { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }),
        ),
      );
    if (iq.getChild("query", NS_DISCO)) {
      if (this.options.disco === "error") return error("service-unavailable");
      const features = [
        "http://jabber.org/protocol/disco#info",
        ...(this.options.disco === "snapshot" ? [NS_SNAPSHOT] : []),
      ];
      return xml(
        "iq",
        { ...head, type: "result" },
        xml("query", { xmlns: NS_DISCO }, ...features.map((f) => xml("feature", { var: f }))),
      );
    }
    const request = iq.getChild("snapshot", NS_SNAPSHOT);
    if (!request) return error("service-unavailable");
    if (this.options.disco !== "snapshot") return error("service-unavailable");
    if (this.options.snapshotError) return error(this.options.snapshotError);
    if (iq.attrs.from?.split("/")[0] !== WORLD) return error("forbidden");
    return this.page(request, head) ?? error("item-not-found");
  }

  /** One RSM page of a frozen snapshot; undefined when its cursor names none. */
  private page(request: Element, head: Record<string, string | undefined>): Element | undefined {
    const set = request.getChild("set", NS_RSM);
    const max = Math.min(Number(set?.getChildText("max") ?? 500), this.options.maxPage);
    const after = set?.getChildText("after") ?? undefined;
    let id: string;
    let start = 0;
    if (after === undefined) {
      id = randomUUID();
      this.frozen.set(id, { position: this.position, sessions: [...this.notified].sort() });
    } else {
      const [cursorId = "", index = ""] = after.split(":");
      if (!this.frozen.has(cursorId)) return undefined;
      id = cursorId;
      start = Number(index) + 1;
    }
    const snap = this.frozen.get(id) as { position: number; sessions: string[] };
    const page = snap.sessions.slice(start, start + max);
    const rsm =
      page.length === 0
        ? xml("set", { xmlns: NS_RSM }, xml("count", {}, String(snap.sessions.length)))
        : xml(
            "set",
            { xmlns: NS_RSM },
            xml("first", { index: String(start) }, `${id}:${start}`),
            xml("last", {}, `${id}:${start + page.length - 1}`),
            xml("count", {}, String(snap.sessions.length)),
          );
    return xml(
      "iq",
      { ...head, type: "result" },
      xml(
        "snapshot",
        { xmlns: NS_SNAPSHOT, position: String(snap.position), epoch: "e1" },
        ...page.map((user) => xml("session", { user })),
        rsm,
      ),
    );
  }
}
