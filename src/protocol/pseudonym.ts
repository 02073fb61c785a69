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

export function pseudonymiser(key: Uint8Array = randomBytes(32)): JidView {
  const tag = (kind: string, text: string, length: number) =>
    createHmac("sha256", key).update(`${kind}\0${text}`).digest("hex").slice(0, length);
  return (jid) => {
    const slash = jid.indexOf("/");
    const bare = slash < 0 ? jid : jid.slice(0, slash);
    const at = bare.indexOf("@");
    const domain = at < 0 ? bare : bare.slice(at + 1);
    const user = at < 0 ? "" : `u-${tag("user", bare, 10)}@`;
    const resource = slash < 0 ? "" : `/r-${tag("resource", jid, 6)}`;
    return `${user}${domain}${resource}`;
  };
}
