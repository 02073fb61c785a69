import type { Element } from "@xmpp/xml";
import { canonicalBare } from "../protocol/jid.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { AwaitingReceipts } from "./awaiting-receipts.js";
import type { HeldMail } from "./held-mail.js";
import type { RecentSends } from "./recent-sends.js";

/** Bounce conditions that mean "not now" rather than "never" (RFC 6120 8.3.3). */
const RETRIABLE = new Set([
  "service-unavailable",
  "recipient-unavailable",
  "remote-server-timeout",
]);

/**
 * What comes back for a notification sent: a bounce (RFC 6120 8.3) or a
 * XEP-0184 receipt. A bounce that means "not now" holds the notification
 * for its server user's return; a receipt ends the wait for it.
 */
export class Returns {
  constructor(
    private readonly deps: {
      recent: RecentSends;
      held: HeldMail;
      awaiting: AwaitingReceipts | undefined;
      counters: Counters;
      logger: Logger;
      /** Counts a refused input and logs it rarely (the router's `refuse`). */
      refuse: (counter: string, reason: string, from: string | undefined) => void;
    },
  ) {}

  /**
   * RFC 6120 8.3: the server returns an undeliverable message as
   * type="error". service-unavailable (and its kin) means the server user is
   * offline and there is no offline storage: hold the notification and send
   * it again when the server user is back. Anything else is a failure,
   * logged. Only the server user it went to or its server can return a
   * notification: from anyone else who learned a trace, a bounce would stall
   * that server user's mail with backoff (or, not retriable, end the wait
   * for its receipt).
   */
  bounced(el: Element): void {
    const { recent, held, awaiting, counters, logger, refuse } = this.deps;
    const first = recent.peek(el.attrs.id)[0];
    // Anyone can send the component an error with a made-up id: it changes
    // nothing, so it is counted and rate-logged like any refused input.
    if (!first) {
      refuse("bounces_unknown", "a bounce for no notification sent", el.attrs.from);
      return;
    }
    if (!bounceConcerns(el.attrs.from, first.to)) {
      refuse("bounces_refused", "a bounce not from the server user or its server", el.attrs.from);
      return;
    }
    counters.inc("notifications_bounced");
    if (el.attrs.id !== undefined) awaiting?.forget(el.attrs.id);
    const condition = el.getChild("error")?.getChildElements()[0]?.name;
    const sent = recent.take(el.attrs.id);
    const context = {
      user: first.user,
      presence: first.presence,
      to: first.to,
      trace: first.trace,
      count: sent.length,
    };
    if (condition !== undefined && RETRIABLE.has(condition)) {
      for (const n of sent) held.hold(n);
      logger.warn(
        { id: el.attrs.id, from: el.attrs.from, condition, held: held.size, ...context },
        "notification bounced: held until the server user is back",
      );
      return;
    }
    logger.error(
      {
        event: "presence_notify_error",
        id: el.attrs.id,
        from: el.attrs.from,
        condition,
        ...context,
      },
      "presence_notify_error: the server returned a notification",
    );
  }

  /**
   * XEP-0184 section 5: the receipt echoes the message id in <received id>
   * (early clients echoed it in the message's own id instead).
   */
  received(el: Element, receipt: Element): void {
    const { awaiting, counters } = this.deps;
    const id = receipt.attrs.id ?? el.attrs.id;
    if (!awaiting || typeof id !== "string" || typeof el.attrs.from !== "string") {
      counters.inc("receipts_unmatched");
      return;
    }
    awaiting.acknowledge(id, el.attrs.from);
  }
}

/** Whether `from` is the server user `to` (bare or full JID) or its server, in canonical form. */
function bounceConcerns(from: string | undefined, to: string): boolean {
  const origin = from === undefined ? undefined : canonicalBare(from);
  const serverUser = canonicalBare(to);
  if (origin === undefined || serverUser === undefined) return false;
  return origin === serverUser || origin === serverUser.slice(serverUser.indexOf("@") + 1);
}
