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
  return ["presence-notify-v1", n.trace, n.to, n.user, n.presence, n.seq ?? ""].join("\n");
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
  if (type === "PRESENCE_DID_CHANGE") {
    return verifyOne({ trace, to, user: a.user, presence: a.presence, seq: a.seq }, sig, keys);
  }
  if (type === "PRESENCE_DID_CHANGE_BATCH" && Array.isArray(a.changes) && a.changes.length > 0) {
    return a.changes.every((change: unknown) => {
      if (typeof change !== "object" || change === null) return false;
      const c = change as Record<string, unknown>;
      return verifyOne(
        { trace: c.trace, to, user: c.user, presence: c.presence, seq: c.seq },
        c.sig,
        keys,
      );
    });
  }
  return false;
}

function verifyOne(
  fields: Record<keyof Signable, unknown>,
  sig: unknown,
  keys: ReadonlyMap<string, string | Uint8Array>,
): boolean {
  const { trace, to, user, presence, seq } = fields;
  if (typeof trace !== "string" || typeof user !== "string" || typeof presence !== "string") {
    return false;
  }
  if (typeof to !== "string" || (seq !== undefined && typeof seq !== "number")) return false;
  if (typeof sig !== "object" || sig === null) return false;
  const { kid, hmac } = sig as Record<string, unknown>;
  if (typeof kid !== "string" || typeof hmac !== "string") return false;
  const secret = keys.get(kid);
  if (secret === undefined) return false;
  const expected = mac(secret, { trace, to, user, presence, seq });
  const given = Buffer.from(hmac, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
