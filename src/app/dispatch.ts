import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import type { Outbox } from "../outbox/outbox.js";
import { Returns } from "../outbox/returns.js";
import { discoInfo, iqError, iqResult, NS_DISCO_INFO, SnapshotIq } from "../outbox/snapshot-iq.js";
import { NS_SNAPSHOT } from "../outbox/snapshot-signal.js";
import { parseJid } from "../protocol/jid.js";
import { NS_RECEIPTS } from "../protocol/notification.js";
import {
  hasOutgoingMessagePermission,
  hasPresencePermission,
  type Privileges,
  parsePrivilegeAdvertisement,
} from "../protocol/privilege.js";
import type { Intake } from "../sessions/intake.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt } from "../telemetry/log-limiter.js";
import type { Link } from "../xmpp/component-link.js";
import { NS_PING } from "../xmpp/ping.js";
import type { RefusedStanza } from "../xmpp/stream-guard.js";

/**
 * Every stanza and event of the component link, to the part it concerns:
 * privilege advertisements (XEP-0356) and presences to intake, ping answers
 * (XEP-0199) to the pinger, bounces (RFC 6120 8.3) and receipts (XEP-0184)
 * to the outbox, the link's connects and drops to both. It answers every IQ
 * request (RFC 6120 8.2.3), the one owner of those answers (ComponentLink
 * keeps them from the library's iq callee): pings, disco#info, the snapshot
 * (`notify.snapshot`, src/outbox/snapshot-iq.ts). It holds the privileges
 * of the current connection.
 */
export class StanzaDispatch {
  private granted: Privileges | undefined;
  private readonly returns: Returns;
  // Whether the stanza being handled belongs to the server's replay, which it
  // writes in one go (src/sessions/resync.ts): a presence the replay
  // may hold, or an advertisement. Any other stanza ends the replay.
  private partOfReplay = false;
  private readonly snapshot: SnapshotIq | undefined;

  constructor(
    private readonly deps: {
      link: Link;
      intake: Intake;
      outbox: Pick<Outbox, "recent" | "held" | "awaiting" | "snapshot">;
      counters: Counters;
      logger: Logger;
      /** Whether notifications should be sent from the user (needs message=outgoing). */
      fromUser: () => boolean;
      /** Presences also come from a broker (MongooseIM, `src/sources/`): XEP-0356 is optional. */
      brokerSource: boolean;
      /** `notify.server_user`, read live: who may ask for the snapshot. */
      serverUser: () => string;
    },
  ) {
    const { outbox, counters, logger, intake, link } = deps;
    this.snapshot = outbox.snapshot
      ? new SnapshotIq({
          snapshot: outbox.snapshot,
          domain: () => link.domain,
          serverUser: deps.serverUser,
          serves: (domain) => intake.served.serves(domain),
          send: (el) => link.send(el),
          refuse: (reason, from) => intake.router.refuse("iq_refused", reason, from),
          counters,
        })
      : undefined;
    this.returns = new Returns({
      recent: outbox.recent,
      held: outbox.held,
      awaiting: outbox.awaiting,
      counters,
      logger,
      refuse: (counter, reason, from) => intake.router.refuse(counter, reason, from),
    });
  }

  /** The privileges the server granted on this connection, if it advertised any yet. */
  privileges(): Privileges | undefined {
    return this.granted;
  }

  /** Starts listening to the link. */
  attach(): void {
    const { link, intake, outbox } = this.deps;
    link.on("stanza", (el) => this.dispatch(el));
    link.on("refused", (refused) => this.refused(refused));
    link.on("connecting", () => {
      // Privileges are per connection (XEP-0356 section 4): the new one brings its own.
      this.granted = undefined;
      intake.connecting();
    });
    link.on("online", () => intake.online());
    link.on("offline", () => {
      intake.offline();
      outbox.awaiting?.linkLost();
    });
  }

  private dispatch(el: Element): void {
    this.partOfReplay = false;
    this.handle(el);
    if (!this.partOfReplay) this.deps.intake.replayInterrupted();
  }

  private handle(el: Element): void {
    const { intake, counters } = this.deps;
    try {
      const granted = el.name === "message" ? parsePrivilegeAdvertisement(el) : undefined;
      if (granted) {
        this.advertisement(el, granted);
        return;
      }
      intake.served.stanza(el.name, el.attrs.from);
      if (el.name === "presence") {
        this.partOfReplay = intake.router.presence(el);
        return;
      }
      if (el.name === "iq") {
        if (el.attrs.type === "result" || el.attrs.type === "error") intake.pinger.handleReply(el);
        else this.request(el);
        return;
      }
      if (el.name === "message" && el.attrs.type === "error") {
        this.returns.bounced(el);
        return;
      }
      const receipt = el.name === "message" ? el.getChild("received", NS_RECEIPTS) : undefined;
      if (receipt) {
        this.returns.received(el, receipt);
        return;
      }
      counters.inc("stanzas_ignored");
    } catch (err) {
      // A stanza must never take the daemon down: count it, log it, go on.
      counters.inc("stanza_handler_errors");
      intake.router.failure("stanza handler failed", {
        err: excerpt((err as Error).message),
        stanza: excerpt(el.toString(), 500),
      });
    }
  }

  /**
   * An IQ get or set (or of no valid type): answered once, by RFC 6120
   * 8.2.3: `bad-request` unless it holds exactly one payload; what the
   * component offers (a get to its own domain) answered; anything else
   * `service-unavailable` (8.3.3.19), the snapshot too while it is off.
   */
  private request(iq: Element): void {
    const { link, intake, counters } = this.deps;
    const { id, from, to, type } = iq.attrs;
    // No reply can be addressed (a server would refuse a malformed `to`, stream and all).
    if (id === undefined || from === undefined || !parseJid(from).ok) {
      intake.router.refuse("iq_refused", "iq request without id or a valid from", from);
      return;
    }
    const children = iq.getChildElements();
    const [payload] = children;
    const get = type === "get" && children.length === 1 && payload !== undefined;
    const ours = to !== undefined && isDomain(to, link.domain);
    let reply: Element;
    if ((type !== "get" && type !== "set") || children.length !== 1) {
      intake.router.refuse("iq_refused", "malformed iq request", from);
      reply = iqError(iq, link.domain, "bad-request", "an IQ get or set holds exactly one payload");
    } else if (get && ours && payload.is("snapshot", NS_SNAPSHOT) && this.snapshot) {
      this.snapshot.request(iq, payload);
      return;
    } else if (get && ours && payload.is("ping", NS_PING)) {
      reply = iqResult(iq, link.domain);
    } else if (get && ours && payload.is("query", NS_DISCO_INFO)) {
      // XEP-0030 section 3.1: the component has no nodes.
      reply = payload.attrs.node
        ? iqError(iq, link.domain, "item-not-found", "this component has no disco nodes")
        : discoInfo(iq, link.domain, this.snapshot !== undefined);
    } else {
      counters.inc("iq_unsupported");
      reply = iqError(iq, link.domain, "service-unavailable", "not offered by this component");
    }
    link.send(reply).catch(() => counters.inc("iq_replies_failed"));
  }

  /** A XEP-0356 advertisement: this connection's privileges, if a served host sent it. */
  private advertisement(el: Element, granted: Privileges): void {
    const { intake, logger } = this.deps;
    if (!intake.advertised(el.attrs.from ?? "", granted)) {
      intake.router.refuse(
        "privileges_refused",
        "advertised by a domain not served",
        el.attrs.from,
      );
      return;
    }
    this.partOfReplay = true;
    this.granted = granted;
    // A host served from now on: owed the resync to everyone, if one is pending.
    if (hasPresencePermission(granted))
      this.deps.outbox.snapshot?.signals.served(el.attrs.from ?? "");
    logger.info(
      { namespace: granted.ns, perms: granted.perms },
      "privileges granted by the server",
    );
    if (!hasPresencePermission(granted) && !this.deps.brokerSource) {
      logger.warn(
        { perms: granted.perms },
        "the server did not grant presence=managed_entity (XEP-0356): no presence will arrive; grant it in the server's privileged_entities / mod_privilege",
      );
    }
    // The notifier's decision per send is sendsFromUser (src/protocol/privilege.ts).
    if (this.deps.fromUser() && !hasOutgoingMessagePermission(granted)) {
      logger.warn(
        { perms: granted.perms },
        'notify.from = "user" needs message=outgoing (XEP-0356); sending from the component domain instead',
      );
    }
  }

  /** Too large or too deep to parse (src/xmpp/stream-guard.ts): not built, never notified. */
  private refused(refused: RefusedStanza): void {
    const { router } = this.deps.intake;
    // The guard's reasons are fixed sentences, but the library's own error
    // follows a colon, and the element name is the sender's: both are detail.
    const colon = refused.reason.indexOf(":");
    const reason = colon < 0 ? refused.reason : refused.reason.slice(0, colon);
    const detail = colon < 0 ? refused.name : `${refused.name}:${refused.reason.slice(colon + 1)}`;
    router.refuse("stanzas_refused", `stanza ${reason}`, refused.from, detail);
    // The server broadcast it, so the session's availability changed all the
    // same: a user must not hide its arrival (or departure) from the server
    // user by making its presence too big or too deep to read. What the
    // availability needs is in the start tag; the children are dropped.
    if (refused.name === "presence") {
      const { from, to, type, xmlns } = refused;
      router.presence(xml("presence", { from, to, type, xmlns }));
    }
  }
}

/** Whether `jid` is `domain` itself (no localpart, no resource), as JIDs compare. */
function isDomain(jid: string, domain: string): boolean {
  const parsed = parseJid(jid);
  return parsed.ok && parsed.jid.local === undefined && parsed.jid.resource === undefined
    ? parsed.jid.domain === domain
    : false;
}
