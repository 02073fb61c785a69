import type { Element } from "@xmpp/xml";
import { verifyNotification } from "../protocol/signature.js";
import { classify, type WireChange } from "./inbound.js";
import type { ClientSettings } from "./options.js";

/**
 * Who may tell the client what: each stanza classified
 * (src/client/inbound.ts), its sender checked, its signature verified when
 * keys are configured, then handed on. A receipt (XEP-0184 section 5) is
 * sent for what the client took, never for what it refused, so a daemon
 * with receipts on sends a refused notification again instead of counting
 * it delivered.
 */
export interface InboxHandlers {
  iq(stanza: Element): void;
  changes(changes: readonly WireChange[]): void;
  resync(reason: string, position: number | undefined): void;
  /** `fromDaemon`: the stanza claimed to come from the daemon (worth a warning). */
  refused(why: string, fromDaemon: boolean): void;
  receipt(to: string, id: string): void;
}

const bareOf = (jid: string) => {
  const slash = jid.indexOf("/");
  return (slash < 0 ? jid : jid.slice(0, slash)).toLowerCase();
};

export function inbox(s: ClientSettings, h: InboxHandlers): (stanza: Element) => void {
  const component = s.component.toLowerCase();
  return (stanza) => {
    const inbound = classify(stanza);
    switch (inbound._tag) {
      case "other":
        return;
      case "iq":
        return h.iq(inbound.stanza);
      case "malformed": {
        const fromDaemon = inbound.from.toLowerCase() === component;
        return h.refused(`${inbound.why} from ${inbound.from}`, fromDaemon);
      }
      case "resync":
        if (inbound.from.toLowerCase() !== component) {
          return h.refused(`a resync signal from ${inbound.from}, not the daemon`, false);
        }
        h.resync(inbound.reason, inbound.position);
        if (inbound.receiptFor !== undefined) h.receipt(inbound.from, inbound.receiptFor);
        return;
      case "notification": {
        const from = inbound.from.toLowerCase();
        // With from = "user" (XEP-0356) each notification comes from its user's bare JID.
        const trusted =
          from === component ||
          (s.from === "user" && inbound.changes.every((c) => bareOf(c.user) === from));
        if (!trusted)
          return h.refused(`a notification from ${inbound.from}, not the daemon`, false);
        if (s.signingKeys && !verifyNotification(inbound.payload, s.bare, s.signingKeys)) {
          return h.refused(`a notification from ${inbound.from} without a valid signature`, true);
        }
        h.changes(inbound.changes);
        if (inbound.receiptFor !== undefined) h.receipt(inbound.from, inbound.receiptFor);
        return;
      }
    }
  };
}
