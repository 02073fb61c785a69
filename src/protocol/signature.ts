import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Opt-in authenticity (`[signing]`): an HMAC-SHA256 (RFC 2104) over the
 * canonical notification, in the payload as
 * `"sig":{"kid":"k1","hmac":"<base64url>"}`.
 *
 * Why: a random trace proves nothing. Anyone who can send the server user a
 * message can forge the JSON; the XMPP `from` helps only if the consumer
 * checks it (it must: accept notifications from the component's JID only).
 * With a key shared by the daemon and the consumer, a notification also
 * proves it came from the daemon, unaltered, for this server user.
 *
 * The canonical form binds every field that means something: version,
 * trace, recipient, session, presence and, when present, the sequence
 * number. Fields are joined by newlines, which no validated JID, trace or
 * presence contains (control characters are refused), so two different
 * notifications never share a canonical form:
 *
 *     presence-notify-v1\n<trace>\n<to>\n<user>\n<presence>\n<seq or "">
 *
 * The opt-in payload fields (`ts`, `reason`, and `resources` at user level;
 * src/protocol/payload-fields.ts) are covered too: a replayed old
 * notification must not pass with a fresh `ts`, nor a forged one explain a
 * departure. A notification carrying any of them is signed in a second
 * form, named by its own version so it can never equal a v1 form; one
 * carrying none keeps v1 byte for byte, so consumers that verify today keep
 * verifying:
 *
 *     presence-notify-v2\n<trace>\n<to>\n<user>\n<presence>\n<seq or "">\n<ts or "">\n<reason or "">\n<resources or "">
 *
 * `kid` names the key, so keys can be rotated: the consumer keeps the old
 * and the new one for a while and picks by `kid`.
 */

export interface Signable {
  readonly trace: string;
  /** The server user's bare JID the notification goes to. */
  readonly to: string;
  readonly user: string;
  readonly presence: string;
  readonly seq?: number | undefined;
  readonly ts?: number | undefined;
  readonly reason?: string | undefined;
  readonly resources?: number | undefined;
}

export interface Signature {
  readonly kid: string;
  readonly hmac: string;
}

export interface SigningKey {
  readonly id: string;
  readonly secret: string | Uint8Array;
}

export type Signer = (n: Signable) => Signature;

export function canonicalNotification(n: Signable): string {
  const v1 = [n.trace, n.to, n.user, n.presence, n.seq ?? ""];
  if (n.ts === undefined && n.reason === undefined && n.resources === undefined) {
    return ["presence-notify-v1", ...v1].join("\n");
  }
  return ["presence-notify-v2", ...v1, n.ts ?? "", n.reason ?? "", n.resources ?? ""].join("\n");
}

function mac(secret: string | Uint8Array, n: Signable): Buffer {
  return createHmac("sha256", secret).update(canonicalNotification(n), "utf8").digest();
}

export function signer(key: SigningKey): Signer {
  return (n) => ({ kid: key.id, hmac: mac(key.secret, n).toString("base64url") });
}

/**
 * For consumers: whether a notification's JSON (as parsed from `<event>`) is
 * signed by one of `keys` (kid -> secret) for the server user `to` (its own
 * bare JID). A batch verifies when every change does. Constant-time compare.
 */
export function verifyNotification(
  payload: unknown,
  to: string,
  keys: ReadonlyMap<string, string | Uint8Array>,
): boolean {
  if (typeof payload !== "object" || payload === null) return false;
  const { trace, type, args, sig } = payload as Record<string, unknown>;
  if (typeof args !== "object" || args === null) return false;
  const a = args as Record<string, unknown>;
  if (type === "PRESENCE_DID_CHANGE") return verifyOne({ ...signedArgs(a), trace, to }, sig, keys);
  if (type === "PRESENCE_DID_CHANGE_BATCH" && Array.isArray(a.changes) && a.changes.length > 0) {
    return a.changes.every((change: unknown) => {
      if (typeof change !== "object" || change === null) return false;
      const c = change as Record<string, unknown>;
      return verifyOne({ ...signedArgs(c), trace: c.trace, to }, c.sig, keys);
    });
  }
  return false;
}

/** The signed keys of one change's JSON, as given (checked by `verifyOne`). */
function signedArgs(
  a: Record<string, unknown>,
): Omit<Record<keyof Signable, unknown>, "trace" | "to"> {
  return {
    user: a.user,
    presence: a.presence,
    seq: a.seq,
    ts: a.ts,
    reason: a.reason,
    resources: a.resources,
  };
}

const optional = (value: unknown, type: "number" | "string") =>
  value === undefined || typeof value === type;

function verifyOne(
  fields: Record<keyof Signable, unknown>,
  sig: unknown,
  keys: ReadonlyMap<string, string | Uint8Array>,
): boolean {
  const { trace, to, user, presence, seq, ts, reason, resources } = fields;
  if (typeof trace !== "string" || typeof user !== "string" || typeof presence !== "string") {
    return false;
  }
  if (typeof to !== "string" || !optional(seq, "number")) return false;
  // A newline in a reason would let one canonical form stand for two payloads.
  if (!optional(ts, "number") || !optional(resources, "number")) return false;
  if (!optional(reason, "string") || (reason as string | undefined)?.includes("\n")) return false;
  if (typeof sig !== "object" || sig === null) return false;
  const { kid, hmac } = sig as Record<string, unknown>;
  if (typeof kid !== "string" || typeof hmac !== "string") return false;
  const secret = keys.get(kid);
  if (secret === undefined) return false;
  const expected = mac(secret, {
    trace,
    to,
    user,
    presence,
    seq: seq as number | undefined,
    ts: ts as number | undefined,
    reason: reason as string | undefined,
    resources: resources as number | undefined,
  });
  const given = Buffer.from(hmac, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
