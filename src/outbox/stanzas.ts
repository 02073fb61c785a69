import { randomUUID } from "node:crypto";
import type { Element } from "@xmpp/xml";
import {
  batchStanza,
  type Notification,
  notificationStanza,
  notificationXml,
  privilegedNotificationStanza,
  unwritable,
  withReceiptRequest,
} from "../protocol/notification.js";
import { type Privileges, sendsFromUser } from "../protocol/privilege.js";
import type { JidView } from "../protocol/pseudonym.js";
import type { Signer } from "../protocol/signature.js";
import type { NotificationQueue } from "../store/notification-queue.js";
import type { Link } from "../xmpp/component-link.js";
import { isResync, resyncStanza } from "./snapshot-signal.js";

/** What choosing and building a message's notifications reads (the notifier's deps extend it). */
export interface StanzaOptions {
  /** The component's domain: the sender, unless sent from the user. */
  link: Pick<Link, "domain">;
  /** "component": from the component domain; "user": from the user's bare JID (XEP-0356). */
  from: () => "component" | "user";
  privileges: () => Privileges | undefined;
  /** Opt-in `[signing]`: an HMAC in each notification's payload. */
  sign?: Signer;
  /** Opt-in `[pseudonyms]`: what `args.user` shows instead of the JID. */
  pseudonym?: JidView;
  /** Opt-in: at most this many notifications for one server user per message (read at each send). */
  batch?: () => number;
  /**
   * A notification older than this when its turn comes is dropped as stale.
   * Read at each send, so a reload applies to what is already queued.
   */
  maxAgeMs?: () => number;
  now?: () => number;
}

/**
 * The head and, with `notify.batch` > 1, the notifications right behind it
 * for the same server user, as long as none is stale. Batches go from the
 * component only: one message cannot come from several users.
 */
export function batchFrom(
  mailbox: NotificationQueue<Notification>,
  head: Notification,
  options: StanzaOptions,
): Notification[] {
  const max = options.batch?.() ?? 1;
  if (max <= 1 || isResync(head) || sendsFromUser(options.from(), options.privileges())) {
    return [head];
  }
  const now = options.now?.();
  const maxAgeMs = options.maxAgeMs?.();
  const batch: Notification[] = [];
  for (const n of mailbox.peekMany(max)) {
    if (n.to !== head.to || unwritable(n) || isResync(n)) break;
    if (now !== undefined && maxAgeMs !== undefined && now - n.queuedAt > maxAgeMs) break;
    batch.push(n);
  }
  return batch.length > 0 ? batch : [head];
}

/** The message for `batch` (one notification or several), asking for a receipt when `receipts`. */
export function stanzaFor(
  batch: Notification[],
  options: StanzaOptions,
  receipts: boolean,
): { id: string; stanza: Element } {
  // The payload shows the pseudonym; everything kept (bounces, receipts) keeps the JID.
  const { pseudonym } = options;
  const shown = pseudonym ? batch.map((n) => ({ ...n, user: pseudonym(n.user) })) : batch;
  const built = bareStanzaFor(shown, options);
  if (receipts) withReceiptRequest(built.stanza);
  return built;
}

/**
 * One notification of a run, serialised: from the template in the default
 * case (`notificationXml`, byte-equal to the built stanza), else the built
 * stanza's text. Runs carry no receipt request (not used with receipts).
 */
export function runTextFor(n: Notification, options: StanzaOptions): { id: string; text: string } {
  const { pseudonym } = options;
  const shown = pseudonym ? { ...n, user: pseudonym(n.user) } : n;
  const privileges = options.privileges();
  if (isResync(n) || sendsFromUser(options.from(), privileges)) {
    const { id, stanza } = bareStanzaFor([shown], options);
    return { id, text: stanza.toString() };
  }
  return { id: n.trace, text: notificationXml(shown, options.link.domain, options.sign) };
}

function bareStanzaFor(
  batch: Notification[],
  options: StanzaOptions,
): { id: string; stanza: Element } {
  const [n] = batch;
  if (n === undefined) throw new Error("stanzaFor needs at least one notification");
  if (batch.length > 1) {
    const trace = randomUUID();
    return { id: trace, stanza: batchStanza(batch, trace, options.link.domain, options.sign) };
  }
  // notify.snapshot's signal: from the component, whoever notifications are sent from.
  if (isResync(n)) return { id: n.trace, stanza: resyncStanza(n, options.link.domain) };
  const privileges = options.privileges();
  if (sendsFromUser(options.from(), privileges)) {
    return {
      id: n.trace,
      stanza: privilegedNotificationStanza(n, options.link.domain, privileges.ns, options.sign),
    };
  }
  return { id: n.trace, stanza: notificationStanza(n, options.link.domain, options.sign) };
}
