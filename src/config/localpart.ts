/**
 * JID localpart validation (RFC 7622 section 3.3), for the server user.
 *
 * Not the full PRECIS UsernameCaseMapped profile: the checks that keep a
 * configured name from silently routing somewhere else. A value is refused if
 * it is empty, longer than 1023 bytes of UTF-8, contains a character RFC 7622
 * section 3.3.1 forbids (" & ' / : < > @), whitespace, a control or invisible
 * format character, a lone surrogate, if it is not in the canonical form the
 * server compares localparts in (PRECIS UsernameCaseMapped: lower case, width
 * mapped, NFC; src/protocol/jid.ts), or if Unicode NFKC normalisation would
 * change it (the server would then address a different account). A
 * non-canonical name is refused, not quietly rewritten: the daemon compares
 * it with the JIDs the server sends, and an operator should see the one
 * spelling that is used.
 */

import { canonicalLocalpart } from "../protocol/jid.js";

/** RFC 7622 section 3.3.1: characters never allowed in a localpart. */
export const LOCALPART_FORBIDDEN = ['"', "&", "'", "/", ":", "<", ">", "@"] as const;

export const MAX_LOCALPART_BYTES = 1023;

const FORBIDDEN = new Set<string>(LOCALPART_FORBIDDEN);

/** Why `ch` can never be part of a localpart, or undefined if it can. */
export function forbiddenCharacterReason(ch: string): string | undefined {
  if (ch === " ") return "it contains a space";
  if (FORBIDDEN.has(ch))
    return `it contains ${JSON.stringify(ch)}, which RFC 7622 forbids in a localpart`;
  if (/\p{Cc}/u.test(ch)) return `it contains a control character (${codePoint(ch)})`;
  if (/\p{White_Space}/u.test(ch)) return `it contains whitespace (${codePoint(ch)})`;
  if (/\p{Cf}/u.test(ch)) return `it contains an invisible format character (${codePoint(ch)})`;
  if (/\p{Cs}/u.test(ch))
    return `it contains a lone surrogate (${codePoint(ch)}), which is not valid Unicode`;
  return undefined;
}

/** Why `value` is not a valid localpart, as a clause starting with "it", or undefined if it is. */
export function localpartProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  for (const ch of value) {
    const reason = forbiddenCharacterReason(ch);
    if (reason !== undefined) return reason;
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_LOCALPART_BYTES) {
    return `it is ${bytes} bytes long in UTF-8; the limit is ${MAX_LOCALPART_BYTES}`;
  }
  const normalised = value.normalize("NFKC");
  if (normalised !== value) {
    return `it changes under Unicode NFKC normalisation (it would become ${JSON.stringify(normalised)})`;
  }
  const canonical = canonicalLocalpart(value);
  if (canonical !== value) {
    return `it is not in the canonical form the server compares localparts in (case-folded, width-mapped, NFC: PRECIS UsernameCaseMapped), so the server user would not recognise its own sessions, receipts or bounces; write ${JSON.stringify(canonical)}`;
  }
  return undefined;
}

export function isValidLocalpart(value: string): boolean {
  return localpartProblem(value) === undefined;
}

function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}
