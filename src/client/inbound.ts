import type { Element } from "@xmpp/xml";
import type { Presence } from "./types.js";
import { NS_FLUX, NS_RECEIPTS, NS_SNAPSHOT } from "./wire.js";

/**
 * What a stanza the server user receives means to the client: a
 * notification (one change, or a batch of them), the resync signal, an IQ
 * answer, something malformed from the daemon, or something else. Parsing
 * only; who may send what is decided by the caller.
 */

/** One change as the daemon sent it (README, "Protocol extensions"). */
export interface WireChange {
  readonly trace: string;
  readonly user: string;
  readonly presence: Presence;
  readonly pos?: number;
  readonly seq?: number;
  readonly ts?: number;
  readonly reason?: string;
  readonly resources?: number;
}

interface Envelope {
  readonly from: string;
  /** The message id, when it asked for a XEP-0184 receipt. */
  readonly receiptFor: string | undefined;
}

export type Inbound =
  | (Envelope & {
      readonly _tag: "notification";
      /** The parsed JSON, for signature verification. */
      readonly payload: unknown;
      readonly changes: readonly WireChange[];
    })
  | (Envelope & {
      readonly _tag: "resync";
      readonly reason: string;
      readonly position: number | undefined;
    })
  | { readonly _tag: "iq"; readonly stanza: Element }
  | { readonly _tag: "malformed"; readonly from: string; readonly why: string }
  | { readonly _tag: "other" };

export function classify(stanza: Element): Inbound {
  if (stanza.name === "iq") {
    const type = stanza.attrs.type;
    return type === "result" || type === "error" ? { _tag: "iq", stanza } : { _tag: "other" };
  }
  if (stanza.name !== "message" || stanza.attrs.type === "error") return { _tag: "other" };
  const from = stanza.attrs.from ?? "";
  const id = stanza.attrs.id;
  const receiptFor =
    id !== undefined && stanza.getChild("request", NS_RECEIPTS) !== undefined ? id : undefined;
  const resync = stanza.getChild("resync", NS_SNAPSHOT);
  if (resync) {
    const position = positionOf(resync.attrs.position);
    if (position === null)
      return { _tag: "malformed", from, why: "a resync position that is not a whole number" };
    return { _tag: "resync", from, receiptFor, reason: resync.attrs.reason ?? "", position };
  }
  const event = stanza.getChild("event", NS_FLUX);
  if (!event) return { _tag: "other" };
  let payload: unknown;
  try {
    payload = JSON.parse(event.getText());
  } catch {
    return { _tag: "malformed", from, why: "a notification whose JSON does not parse" };
  }
  const changes = changesOf(payload);
  if (typeof changes === "string") return { _tag: "malformed", from, why: changes };
  return { _tag: "notification", from, receiptFor, payload, changes };
}

/** A resync's `position`: absent (undefined), a positive safe integer, or null when invalid. */
function positionOf(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;

/** The changes of a PRESENCE_DID_CHANGE or PRESENCE_DID_CHANGE_BATCH payload, or why not. */
export function changesOf(payload: unknown): WireChange[] | string {
  const p = record(payload);
  const args = record(p?.args);
  if (!p || !args) return "a notification without args";
  if (p.type === "PRESENCE_DID_CHANGE") {
    const change = changeOf({ ...args, trace: p.trace });
    return typeof change === "string" ? change : [change];
  }
  if (p.type !== "PRESENCE_DID_CHANGE_BATCH") return `a notification of type ${String(p.type)}`;
  if (!Array.isArray(args.changes) || args.changes.length === 0) return "a batch without changes";
  const changes: WireChange[] = [];
  for (const item of args.changes) {
    const c = record(item);
    const change = c ? changeOf(c) : "a batch change that is not an object";
    if (typeof change === "string") return change;
    changes.push(change);
  }
  return changes;
}

const whole = (v: unknown, min: number): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min;

function changeOf(c: Record<string, unknown>): WireChange | string {
  const { trace, user, presence, pos, seq, ts, reason, resources } = c;
  if (typeof trace !== "string" || trace === "") return "a change without a trace";
  if (typeof user !== "string" || user === "") return "a change without a user";
  if (presence !== "available" && presence !== "unavailable")
    return "a change with an unknown presence";
  if (pos !== undefined && !whole(pos, 1))
    return "a change whose pos is not a positive whole number";
  if (seq !== undefined && !whole(seq, 1))
    return "a change whose seq is not a positive whole number";
  return {
    trace,
    user,
    presence,
    ...(pos === undefined ? {} : { pos }),
    ...(seq === undefined ? {} : { seq }),
    // Informative fields: passed on when well-formed, never required.
    ...(typeof ts === "number" && Number.isFinite(ts) ? { ts } : {}),
    ...(typeof reason === "string" ? { reason } : {}),
    ...(whole(resources, 0) ? { resources } : {}),
  };
}
