import { randomUUID } from "node:crypto";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import xmlModule from "@xmpp/xml";
import { type PayloadExtras, withExtras } from "./payload-fields.js";
import type { Signer } from "./signature.js";
import { nonXmlChar, UnwritableXml, xmlChars } from "./xml-char.js";

/**
 * The notification of ../shared/PROTOCOL.md, the wire contract of MongooseIM's
 * mod_presence_notify. Consumers written for that module parse exactly this.
 */

export const NS_FLUX = "flux:xmpp";
export const NS_FORWARD = "urn:xmpp:forward:0";
export const NS_RECEIPTS = "urn:xmpp:receipts";

export type PresenceValue = "available" | "unavailable";

/** Opt-in `ts`, `reason` and (user level) `resources`: src/protocol/payload-fields.ts. */
export interface Notification extends PayloadExtras {
  /** Correlates the message `id` and the JSON `trace`; random from a CSPRNG. */
  readonly trace: string;
  /**
   * The session's full JID, exactly as the server gave it; with
   * `notify.level = "user"`, the user's bare JID.
   */
  readonly user: string;
  readonly presence: PresenceValue;
  /** The server user's bare JID on the user's own domain. */
  readonly to: string;
  /** The user's bare JID, used as sender when `from = "user"`. */
  readonly userBare: string;
  /**
   * When it was queued: when its session's machine took the transition (ms
   * on the daemon's clock), to bound how long it may wait.
   */
  readonly queuedAt: number;
  /** Opt-in extension: the session's sequence number (args.seq). */
  readonly seq?: number;
  /**
   * Opt-in `notify.snapshot`: the daemon-wide position (args.pos), given
   * where the notification entered the mailbox (src/outbox/enqueue.ts).
   */
  readonly pos?: number;
}

export function newNotification(
  session: { full: string; bare: string; domain: string },
  presence: PresenceValue,
  serverUser: string,
  queuedAt: number,
  seq?: number,
  extras: PayloadExtras = {},
): Notification {
  return {
    ...(seq === undefined ? {} : { seq }),
    ...extras,
    queuedAt,
    trace: randomUUID(),
    user: session.full,
    presence,
    to: `${serverUser}@${session.domain}`,
    userBare: session.bare,
  };
}

/**
 * The JSON text of `<event>`; built by JSON.stringify, never by
 * concatenation. The default bytes are the original module's; extensions
 * (`seq`, `pos`, the payload fields, `sig`) only when opted in.
 */
export function payloadJson(n: Notification, sign?: Signer): string {
  const args = changeArgs(n);
  const payload = { trace: n.trace, type: "PRESENCE_DID_CHANGE", args };
  return JSON.stringify(sign ? { ...payload, sig: sign(n) } : payload);
}

/** One change's keys, in their fixed order: user, presence, then each extension present. */
function changeArgs(n: Notification): Record<string, unknown> {
  const args: Record<string, unknown> = { user: n.user, presence: n.presence };
  if (n.seq !== undefined) args.seq = n.seq;
  if (n.pos !== undefined) args.pos = n.pos;
  return withExtras(args, n);
}

/**
 * Every text the builders below put in a stanza passes here: one that XML 1.0
 * cannot carry throws `UnwritableXml` (src/protocol/xml-char.ts) instead of
 * reaching the stream. The JIDs were checked where they came in
 * (src/protocol/jid.ts), so this only fires on a bug or on state written by
 * an older version; the notifier drops such a notification, counted.
 */
function envelope(trace: string, from: string, to: string | undefined, json: string) {
  return {
    id: xmlChars("id", trace),
    from: xmlChars("from", from),
    to: to === undefined ? undefined : xmlChars("to", to),
    json: xmlChars("payload", json),
  };
}

/**
 * Why no stanza can be built for `n` (a JID XML cannot carry), or undefined.
 * The notifier asks before building, so such a notification is dropped and
 * counted instead of failing the actor on every attempt.
 */
export function unwritable(n: Notification): UnwritableXml | undefined {
  for (const field of ["trace", "to", "user", "userBare"] as const) {
    const bad = nonXmlChar(n[field]);
    if (bad !== undefined) return new UnwritableXml(field, bad);
  }
  return undefined;
}

/** The default stanza, sent from the component's own domain. */
export function notificationStanza(n: Notification, from: string, sign?: Signer): Element {
  const e = envelope(n.trace, from, n.to, payloadJson(n, sign));
  return xml(
    "message",
    { type: "chat", id: e.id, from: e.from, to: e.to },
    xml("body", {}, "Presence update"),
    xml("event", { xmlns: NS_FLUX, mime: "application/json" }, e.json),
  );
}

// CommonJS: its named exports only through the default one (on real Node).
const { escapeXML, escapeXMLText } = xmlModule;

/**
 * `notificationStanza(n, from, sign).toString()` (and `withReceiptRequest`'s
 * child with `receipt`), written from a template instead of built as
 * elements and serialised: the notifier's hot path. The element builder
 * above stays the definition; a property test holds the two byte-equal,
 * escaping included (the same escape functions the serialiser uses).
 */
export function notificationXml(
  n: Notification,
  from: string,
  sign?: Signer,
  receipt = false,
): string {
  const e = envelope(n.trace, from, n.to, payloadJson(n, sign));
  return (
    `<message type="chat" id="${escapeXML(e.id)}" from="${escapeXML(e.from)}" to="${escapeXML(n.to)}">` +
    `<body>Presence update</body><event xmlns="${NS_FLUX}" mime="application/json">` +
    `${escapeXMLText(e.json)}</event>` +
    `${receipt ? `<request xmlns="${NS_RECEIPTS}"/>` : ""}</message>`
  );
}

/**
 * The same message sent "from the user" through XEP-0356 section 5 (message
 * permission `outgoing`): the server unwraps `<privilege><forwarded>` and
 * delivers the inner message with `from` = the user's bare JID. The outer
 * message goes to the user's server domain; a full JID inside is refused.
 */
export function privilegedNotificationStanza(
  n: Notification,
  componentDomain: string,
  privilegeNs: string,
  sign?: Signer,
): Element {
  const inner = notificationStanza(n, n.userBare, sign);
  inner.attrs.xmlns = "jabber:client";
  const serverDomain = n.to.slice(n.to.indexOf("@") + 1);
  return xml(
    "message",
    {
      from: xmlChars("from", componentDomain),
      to: xmlChars("to", serverDomain),
      id: `fwd-${n.trace}`,
    },
    xml("privilege", { xmlns: privilegeNs }, xml("forwarded", { xmlns: NS_FORWARD }, inner)),
  );
}

/**
 * Opt-in extension (`notify.batch` > 1): several notifications for one server
 * user in one message. Same envelope; the JSON says PRESENCE_DID_CHANGE_BATCH
 * and lists each change with its own trace (and its own opt-in keys), in order:
 * `{"trace":T,"type":"PRESENCE_DID_CHANGE_BATCH","args":{"changes":[{"trace","user","presence"}, ...]}}`.
 */
export function batchStanza(
  batch: readonly Notification[],
  trace: string,
  from: string,
  sign?: Signer,
): Element {
  const changes = batch.map((n) => {
    const change = { trace: n.trace, ...changeArgs(n) };
    return sign ? { ...change, sig: sign(n) } : change;
  });
  const json = JSON.stringify({ trace, type: "PRESENCE_DID_CHANGE_BATCH", args: { changes } });
  const e = envelope(trace, from, batch[0]?.to, json);
  return xml(
    "message",
    { type: "chat", id: e.id, from: e.from, to: e.to },
    xml("body", {}, "Presence update"),
    xml("event", { xmlns: NS_FLUX, mime: "application/json" }, e.json),
  );
}

/**
 * XEP-0184 section 5: asks the recipient for a receipt. The message keeps its
 * `id`, which the receipt's `<received id>` echoes.
 */
export function withReceiptRequest(stanza: Element): Element {
  stanza.append(xml("request", { xmlns: NS_RECEIPTS }));
  return stanza;
}
