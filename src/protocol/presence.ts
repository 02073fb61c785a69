import type { Element } from "@xmpp/xml";
import { type FullJid, parseFullJid } from "./jid.js";

/**
 * Reads one inbound `<presence/>` (RFC 6121 section 4.7) into the event the
 * session machine understands, or a reason it is not one. Never throws: a
 * hostile stanza is a value here, counted and logged by the router.
 */

export const NS_DELAY = "urn:xmpp:delay"; // XEP-0203

export type Show = "chat" | "away" | "xa" | "dnd";
const SHOWS: ReadonlySet<string> = new Set(["chat", "away", "xa", "dnd"]);

export type SessionPresence =
  | {
      type: "presence.available";
      show?: Show;
      status?: string;
      priority?: number;
      /** XEP-0203 stamp added by the session's own server (`from` = its domain), if any. */
      delay?: string;
    }
  | { type: "presence.unavailable"; cause: "client" | "server" };

export type ParsedPresence =
  | { kind: "session"; jid: FullJid; event: SessionPresence }
  | Refused<"ignored">
  | Refused<"rejected">;

/**
 * A presence that is not a session's: `reason` is a fixed sentence chosen
 * here (it keys the router's log limiter, so input must never be in it);
 * the offending input, if any, is `detail`, quoted in the log only as a
 * bounded excerpt.
 */
export interface Refused<K extends "ignored" | "rejected"> {
  kind: K;
  reason: string;
  from: string | undefined;
  detail?: string;
}

// Presence types that are not about a session's availability (RFC 6121 4.7.1):
// subscriptions, probes and errors are none of our business.
const NOT_AVAILABILITY = new Set([
  "subscribe",
  "subscribed",
  "unsubscribe",
  "unsubscribed",
  "probe",
  "error",
]);

// A stanza on the component stream inherits jabber:component:accept; servers
// may also label what they route with the client or server namespace.
// Anything else is not an XMPP presence at all (RFC 6120 section 4.8.3).
const STANZA_NAMESPACES = new Set([
  undefined,
  "jabber:component:accept",
  "jabber:client",
  "jabber:server",
]);

export function parsePresence(stanza: Element): ParsedPresence {
  const from = stanza.attrs.from;
  const type = stanza.attrs.type;
  if (!STANZA_NAMESPACES.has(stanza.attrs.xmlns)) {
    return { kind: "rejected", reason: "presence in a foreign namespace", from };
  }
  if (type !== undefined && type !== "unavailable") {
    return NOT_AVAILABILITY.has(type)
      ? { kind: "ignored", reason: "presence not about availability", from, detail: type }
      : { kind: "rejected", reason: "unknown presence type", from, detail: type };
  }
  if (from === undefined) return { kind: "rejected", reason: "presence without from", from };
  const parsed = parseFullJid(from);
  if (!parsed.ok)
    // parseFullJid's reasons are fixed sentences too (src/protocol/jid.ts).
    return { kind: "rejected", reason: `from is not a session JID: ${parsed.reason}`, from };
  if (type === "unavailable") {
    return {
      kind: "session",
      jid: parsed.jid,
      event: { type: "presence.unavailable", cause: lostSocket(stanza) ? "server" : "client" },
    };
  }
  return { kind: "session", jid: parsed.jid, event: availableEvent(stanza, parsed.jid.domain) };
}

/**
 * Whether an unavailable presence is the server's word that it ended the
 * session: Prosody's mod_presence, on `resource-unbind` with an error (a
 * stream error such as not-well-formed), sends it with `<status>Disconnected:
 * <condition></status>`. A socket that merely closes (FIN or RST) gets a
 * bare `type="unavailable"`, the same as a goodbye (seen on Prosody 0.12:
 * test/e2e/user-level.test.ts). A client can
 * write that status too; it then only changes the reported cause (the
 * opt-in `args.reason`, the log), never whether the session is gone.
 */
function lostSocket(stanza: Element): boolean {
  return stanza.getChildText("status")?.startsWith("Disconnected: ") === true;
}

function availableEvent(stanza: Element, domain: string): SessionPresence {
  const event: SessionPresence & { type: "presence.available" } = { type: "presence.available" };
  const show = stanza.getChildText("show");
  // An unknown <show/> is read as plain available, as RFC 6121 4.7.2.1 lets a receiver do.
  if (show !== null && SHOWS.has(show)) event.show = show as Show;
  const status = stanza.getChildText("status");
  if (status !== null) event.status = status;
  const priority = Number(stanza.getChildText("priority"));
  if (Number.isInteger(priority) && priority >= -128 && priority <= 127) event.priority = priority;
  // XEP-0203 section 3: `from` is who added the delay. Only one the user's
  // own server added is read (Prosody's mod_presence stamps the presence it
  // stores, and replays, `from` = the host); a client may add its own too.
  for (const delay of stanza.getChildren("delay", NS_DELAY)) {
    const { from, stamp } = delay.attrs;
    if (
      typeof stamp === "string" &&
      typeof from === "string" &&
      from.toLowerCase() === domain.toLowerCase()
    )
      event.delay = stamp;
  }
  return event;
}
