import type { SessionEvent } from "../machines/session.js";
import type { FullJid } from "../protocol/jid.js";

/**
 * Where session presences enter the daemon. There are two sources:
 *
 * - the XMPP stream: XEP-0356 privileged presences on the component link
 *   (`StanzaDispatch` in src/app/dispatch.ts -> `PresenceRouter.presence`,
 *   which parses the stanza and hands the result here);
 * - a RabbitMQ queue fed by MongooseIM's mod_event_pusher
 *   (`src/sources/rabbitmq.ts`), for servers without XEP-0356.
 *
 * Both end in the same sink, so the session machines, the filters and the
 * notifier do not know which one spoke. A source hands over values it has
 * already validated: a checked full JID and a session event.
 */
export interface PresenceSink {
  /**
   * Whether a notifying transition would be queued right now. A source that
   * can hold its input back (a broker keeps unacknowledged messages) asks
   * first, because `accept` advances the session's machine before the
   * queue is offered the notification: a notification the full queue
   * refused could not be had again by handing the same presence in twice.
   */
  hasRoom(): boolean;
  /** Durable mode: whether the state file takes commits now; a broker holds its input while not. */
  writable?(): boolean;
  /**
   * Filters by the routing policy, advances the session's machine, queues a
   * notification. Returns false when it was not taken for good (durable
   * mode, the state file refused the commit): a broker leaves the message
   * unacknowledged and hands it in again later, which changes no machine a
   * second time (the commit itself is kept and retried by the daemon).
   */
  accept(jid: FullJid, event: SessionEvent): boolean;
  /** Counts a refused input by reason and logs it rarely (1st, 2nd, 4th, 8th...). */
  refuse(counter: string, reason: string, from: string | undefined): void;
}
