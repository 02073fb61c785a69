/**
 * JIDs as they arrive from the wire, checked before any use (RFC 7622).
 *
 * The checks are the ones that matter to this daemon: each part at most 1023
 * bytes of UTF-8 (RFC 7622 section 3.1), no control characters, a localpart
 * without the characters RFC 7622 section 3.3.1 forbids, and a resource
 * present (we only track sessions, which are full JIDs). Full PRECIS
 * enforcement is the server's job; we refuse what we cannot use safely.
 */

export interface FullJid {
  /** The JID exactly as the server gave it: the notification carries it unchanged. */
  readonly full: string;
  readonly bare: string;
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
}

export type JidResult = { ok: true; jid: FullJid } | { ok: false; reason: string };

const MAX_PART_BYTES = 1023;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LOCAL_FORBIDDEN = /["&'/:<>@\s]/;
const DOMAIN_SHAPE = /^[^\s@/"&'<>:]+$/;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

function checkPart(name: string, part: string): string | undefined {
  if (part === "") return `its ${name} is empty`;
  if (bytes(part) > MAX_PART_BYTES) return `its ${name} is longer than ${MAX_PART_BYTES} bytes`;
  if (CONTROL.test(part)) return `its ${name} contains a control character`;
  return undefined;
}

/** Parses `local@domain/resource`; anything else is a reason, never an exception. */
export function parseFullJid(text: string): JidResult {
  if (!text.isWellFormed()) return { ok: false, reason: "it is not well-formed Unicode" };
  const slash = text.indexOf("/");
  if (slash < 0) return { ok: false, reason: "it has no resource (not a session's full JID)" };
  const bare = text.slice(0, slash);
  const resource = text.slice(slash + 1);
  const at = bare.indexOf("@");
  if (at < 0) return { ok: false, reason: "it has no localpart (not a user's JID)" };
  const local = bare.slice(0, at);
  const domain = bare.slice(at + 1);
  const problem =
    checkPart("localpart", local) ?? checkPart("domain", domain) ?? checkPart("resource", resource);
  if (problem) return { ok: false, reason: problem };
  if (LOCAL_FORBIDDEN.test(local))
    return { ok: false, reason: "its localpart contains a character RFC 7622 forbids" };
  if (!DOMAIN_SHAPE.test(domain)) return { ok: false, reason: "its domain is malformed" };
  return { ok: true, jid: { full: text, bare, local, domain, resource } };
}

/**
 * A copy of `s` that shares no memory with it. Parsers (ltx, which
 * @xmpp/component uses) take attribute values with `slice`, and V8 keeps a
 * slice's whole parent string alive: a JID kept as a Map key would pin the
 * network chunk it arrived in (measured: ~16 KB per session with 16 KB
 * chunks; bench/memory.ts, 448 -> 379 B per session at 100k for liveness
 * alone). A JSON round trip yields a flat string and, unlike a UTF-8 Buffer
 * round trip, preserves every UTF-16 code unit, so lookups still match.
 */
export function flatCopy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
