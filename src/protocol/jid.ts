import { nonXmlChar } from "./xml-char.js";

/**
 * JIDs as they arrive from the wire, checked and put in canonical form
 * before any use (RFC 7622). Every entry point (XMPP presences, the broker,
 * the servers' session lists, state restored at start, receipts and
 * bounces) goes through `parseFullJid` or `parseJid`: one check, one
 * canonical form, so two spellings of one session are one session.
 *
 * The checks are the ones that matter to this daemon: each part at most 1023
 * bytes of UTF-8 (RFC 7622 section 3.1), only characters XML 1.0 can carry
 * (no U+FFFE, U+FFFF or lone surrogate: src/protocol/xml-char.ts), no
 * control characters or Unicode noncharacters, a localpart without the
 * characters RFC 7622 section 3.3.1 forbids, and, for a session, a resource.
 *
 * The canonical form is what a conforming server already uses, so for a
 * real server it changes nothing; the parts of PRECIS that decide identity:
 * - localpart: UsernameCaseMapped (RFC 8265 section 3.3): fullwidth and
 *   halfwidth forms mapped to their narrow forms, lower case, NFC;
 * - domainpart: lower case, NFC, the trailing dot removed (RFC 7622 3.2);
 * - resourcepart: OpaqueString (RFC 8265 section 4.2): case kept, NFC.
 * Full PRECIS enforcement (which code points are allowed at all) stays the
 * server's job; we refuse what we cannot use safely.
 */

export interface FullJid {
  /**
   * `local@domain/resource` in canonical form: the session's key, and what
   * `args.user` carries (ARCHITECTURE.md, "JIDs").
   */
  readonly full: string;
  readonly bare: string;
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
}

/** Any JID in canonical form: a domain, a bare JID or a full JID. */
export interface Jid {
  readonly local: string | undefined;
  readonly domain: string;
  readonly resource: string | undefined;
  /** `local@domain`, or the domain alone. */
  readonly bare: string;
}

export type JidResult = { ok: true; jid: FullJid } | { ok: false; reason: string };

const MAX_PART_BYTES = 1023;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NONCHARACTER = /\p{Noncharacter_Code_Point}/u;
const LOCAL_FORBIDDEN = /["&'/:<>@\s]/;
const PRINTABLE_ASCII = /^[\u0021-\u007e]*$/;
const CAPITAL_OR_FINAL_DOT = /[A-Z]|\.$/;
const DOMAIN_SHAPE = /^[^\s@/"&'<>:]+$/;
// Printable ASCII but A-Z: already canonical, the common case, no work.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is what it spans.
const FOLDED_ASCII = /^[\u0000-\u0040\u005b-\u007f]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is what it spans.
const ASCII = /^[\u0000-\u007f]*$/;
// RFC 8265 section 3.3.2 rule 2 (width mapping): the fullwidth and halfwidth forms block.
const WIDE = /[\uff00-\uffef]/gu;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** PRECIS UsernameCaseMapped's mappings of a localpart (or of a localpart glob). */
export function canonicalLocalpart(local: string): string {
  if (FOLDED_ASCII.test(local)) return local;
  return local
    .replace(WIDE, (ch) => ch.normalize("NFKC"))
    .toLowerCase()
    .normalize("NFC");
}

/** A domainpart as JIDs compare it: lower case, NFC, no trailing dot. */
export function canonicalDomain(domain: string): string {
  const folded = FOLDED_ASCII.test(domain) ? domain : domain.toLowerCase().normalize("NFC");
  return folded.endsWith(".") ? folded.slice(0, -1) : folded;
}

/** PRECIS OpaqueString for a resource: case kept, NFC. */
export function canonicalResource(resource: string): string {
  return ASCII.test(resource) ? resource : resource.normalize("NFC");
}

function checkPart(name: string, part: string, plain: boolean): string | undefined {
  if (part === "") return `its ${name} is empty`;
  if (bytes(part) > MAX_PART_BYTES) return `its ${name} is longer than ${MAX_PART_BYTES} bytes`;
  // Printable ASCII (nearly every JID) has no control character, non-Char or noncharacter.
  if (plain) return undefined;
  if (CONTROL.test(part)) return `its ${name} contains a control character`;
  const nonChar = nonXmlChar(part);
  if (nonChar !== undefined) return `its ${name} contains ${nonChar}, which XML cannot carry`;
  if (NONCHARACTER.test(part)) return `its ${name} contains a Unicode noncharacter`;
  return undefined;
}

type Parts = {
  local: string | undefined;
  domain: string;
  resource: string | undefined;
  /** Whether canonicalisation changed anything. */
  changed: boolean;
};

/** Splits, canonicalises and checks; the parts or a reason, never an exception. */
function parse(text: string): { ok: true; parts: Parts } | { ok: false; reason: string } {
  const plain = PRINTABLE_ASCII.test(text);
  if (!plain && !text.isWellFormed()) return { ok: false, reason: "it is not well-formed Unicode" };
  const slash = text.indexOf("/");
  const bareText = slash < 0 ? text : text.slice(0, slash);
  const at = bareText.indexOf("@");
  const givenLocal = at < 0 ? undefined : bareText.slice(0, at);
  const givenDomain = bareText.slice(at + 1);
  const givenResource = slash < 0 ? undefined : text.slice(slash + 1);
  // Lower-case printable ASCII without a trailing dot: canonical as it is.
  const canonical = plain && !CAPITAL_OR_FINAL_DOT.test(bareText);
  const local = givenLocal === undefined || canonical ? givenLocal : canonicalLocalpart(givenLocal);
  const domain = canonical ? givenDomain : canonicalDomain(givenDomain);
  const resource =
    givenResource === undefined || plain ? givenResource : canonicalResource(givenResource);
  const problem =
    (local === undefined ? undefined : checkPart("localpart", local, plain)) ??
    checkPart("domain", domain, plain) ??
    (resource === undefined ? undefined : checkPart("resource", resource, plain));
  if (problem) return { ok: false, reason: problem };
  if (local !== undefined && LOCAL_FORBIDDEN.test(local))
    return { ok: false, reason: "its localpart contains a character RFC 7622 forbids" };
  if (!DOMAIN_SHAPE.test(domain)) return { ok: false, reason: "its domain is malformed" };
  const changed = local !== givenLocal || domain !== givenDomain || resource !== givenResource;
  return { ok: true, parts: { local, domain, resource, changed } };
}

/** Parses a session's `local@domain/resource`; anything else is a reason, never an exception. */
export function parseFullJid(text: string): JidResult {
  const slash = text.indexOf("/");
  if (slash < 0) return { ok: false, reason: "it has no resource (not a session's full JID)" };
  if (text.lastIndexOf("@", slash) < 0)
    return { ok: false, reason: "it has no localpart (not a user's JID)" };
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  const { domain, changed } = parsed.parts;
  const local = parsed.parts.local ?? "";
  const resource = parsed.parts.resource ?? "";
  // One flat string of its own, and every part a slice of it: the wire's
  // text is a slice of a whole socket read (see flatCopy), which anything
  // the daemon keeps (a session's key, a notification in the mailbox or in
  // the ring of recent sends) would otherwise keep alive.
  const full = flatCopy(changed ? `${local}@${domain}/${resource}` : text);
  const at = local.length;
  const end = at + 1 + domain.length;
  return {
    ok: true,
    jid: {
      full,
      bare: full.slice(0, end),
      local: full.slice(0, at),
      domain: full.slice(at + 1, end),
      resource: full.slice(end + 1),
    },
  };
}

/** Parses any JID (a domain, bare or full): for the `from` of receipts and bounces. */
export function parseJid(text: string): { ok: true; jid: Jid } | { ok: false; reason: string } {
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  const { local, domain, resource } = parsed.parts;
  return {
    ok: true,
    jid: { local, domain, resource, bare: local === undefined ? domain : `${local}@${domain}` },
  };
}

/** `text`'s canonical bare JID (or domain), or undefined if it is not a JID. */
export function canonicalBare(text: string): string | undefined {
  const parsed = parseJid(text);
  return parsed.ok ? parsed.jid.bare : undefined;
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
