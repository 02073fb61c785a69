import { createHmac, randomBytes } from "node:crypto";

/**
 * How the dashboard (`admin.pseudonymise`) and the logs (`log.redact_jids`)
 * show a JID. Pseudonymised, the localpart and
 * the resource are replaced by a keyed hash (HMAC-SHA-256, RFC 2104), so one
 * JID always maps to the same token while the daemon runs, the same user's
 * resources share a user token, and nobody without the key can go from a
 * token back to a JID by hashing guesses. The key is random at each start:
 * pseudonyms are for telling sessions apart on the screen, not for joining
 * across restarts. The domain stays readable: it names a service, not a person.
 *
 *     alice@example.com/phone  ->  u-3f9a0c12d4@example.com/r-8b1e07
 */
export type JidView = (jid: string) => string;

export const asGiven: JidView = (jid) => jid;

/**
 * `lengths` in hex digits. The display default (10 and 6) is short for a
 * screen; a payload that must tell a million users apart takes 16 (64 bits:
 * a collision among a million is about one chance in thirty million).
 */
export function pseudonymiser(
  key: string | Uint8Array = randomBytes(32),
  lengths: { user: number; resource: number } = { user: 10, resource: 6 },
): JidView {
  const tag = (kind: string, text: string, length: number) =>
    createHmac("sha256", key).update(`${kind}\0${text}`).digest("hex").slice(0, length);
  return (jid) => {
    const slash = jid.indexOf("/");
    const bare = slash < 0 ? jid : jid.slice(0, slash);
    const at = bare.indexOf("@");
    const domain = at < 0 ? bare : bare.slice(at + 1);
    const user = at < 0 ? "" : `u-${tag("user", bare, lengths.user)}@`;
    const resource = slash < 0 ? "" : `/r-${tag("resource", jid, lengths.resource)}`;
    return `${user}${domain}${resource}`;
  };
}

/**
 * The opt-in payload form (`[pseudonyms] key`): what `args.user` carries
 * instead of the session's JID. A consumer holding the same key computes it
 * for the JIDs it knows (this function is exported by the package) and joins
 * on it; anyone else learns only the domain.
 */
export function payloadPseudonym(key: string | Uint8Array): JidView {
  return pseudonymiser(key, { user: 16, resource: 16 });
}
