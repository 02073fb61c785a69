import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";

/**
 * What the client sends: the stanzas of the snapshot extension
 * (../../README.md, "Writing a consumer"), XEP-0030 disco#info, XEP-0059
 * paging and XEP-0184 receipts.
 */

export const NS_SNAPSHOT = "urn:flux:presence:snapshot:0";
export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_RECEIPTS = "urn:xmpp:receipts";
export const NS_FLUX = "flux:xmpp";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** XEP-0030 section 3.1: what the component supports. */
export function discoInfoRequest(id: string, to: string): Element {
  return xml("iq", { type: "get", id, to }, xml("query", { xmlns: NS_DISCO_INFO }));
}

/** One snapshot page: the first without `after`, later ones after the last cursor (XEP-0059 section 2.2). */
export function snapshotRequest(id: string, to: string, max: number, after?: string): Element {
  const set = xml(
    "set",
    { xmlns: NS_RSM },
    xml("max", {}, String(max)),
    after === undefined ? null : xml("after", {}, after),
  );
  return xml("iq", { type: "get", id, to }, xml("snapshot", { xmlns: NS_SNAPSHOT }, set));
}

/** XEP-0184 section 5: the receipt for message `id`, to its sender. */
export function receipt(to: string, id: string): Element {
  return xml("message", { to, id: `receipt-${id}` }, xml("received", { xmlns: NS_RECEIPTS, id }));
}

/**
 * RFC 6121 section 4.2: initial presence, so the server routes messages for
 * the bare JID to this resource. Priority 0: every consumer logged in as the
 * server user gets its copy.
 */
export function initialPresence(): Element {
  return xml("presence", {}, xml("priority", {}, "0"));
}

/** The defined condition of an IQ error (RFC 6120 section 8.3.3), or `undefined`. */
export function errorCondition(stanza: Element): string | undefined {
  const error = stanza.getChild("error");
  return error?.getChildElements().find((c) => c.attrs.xmlns === NS_STANZAS)?.name;
}
