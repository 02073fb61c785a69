import type { Element } from "@xmpp/xml";
import type { SessionEvent, TransitionCause } from "../machines/session.js";
import type { Transition } from "../outbox/outbound.js";
import { type FullJid, parseFullJid } from "../protocol/jid.js";
import { newNotification } from "../protocol/notification.js";
import { fieldsFor, type PayloadField, reasonOf } from "../protocol/payload-fields.js";
import { parsePresence } from "../protocol/presence.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import type { SequenceNumbers } from "./sequence-numbers.js";
import type { SessionRegistry } from "./session-registry.js";

/** Who is served, from the configuration; read on every presence so a reload applies at once. */
export interface RoutingPolicy {
  serverUser: string;
  /** localpart -> whether its sessions are notified (include/exclude globs). */
  accepts: (localpart: string) => boolean;
  /** `notify.domains`; empty: the server's own hosts (src/sessions/served-domains.ts). */
  domains: readonly string[];
}

/**
 * Turns each inbound presence into session-machine events and each
 * notifying transition into a notification, handed outbound.
 *
 * Nothing from the wire is trusted: a presence that is not from a session
 * of a served user is counted by reason and logged (rarely, so a flood
 * cannot flood the log), and never reaches a machine.
 */
export class PresenceRouter {
  // Every refusal and failure caused by input is logged through it: a flood
  // of any mix of reasons writes a few lines per reason, with a count.
  private readonly limiter = new LogLimiter();

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      /**
       * Where every notifying transition goes, in order: the outbound stages
       * and the mailbox (src/outbox/outbound.ts).
       */
      outbound: { offer(t: Transition): void };
      policy: () => RoutingPolicy;
      /** Whether a user domain is served (src/sessions/served-domains.ts). */
      serves: (domain: string) => boolean;
      counters: Counters;
      logger: Logger;
      /** The daemon's clock, for the time a notification was queued. */
      now: () => number;
      /** Opt-in per-session sequence numbers in the payload. */
      sequence?: SequenceNumbers;
      /** Opt-in `notify.fields` (`ts`, `reason`), read at each transition. */
      fields?: () => readonly PayloadField[];
      /** Whether a presence stamped by its server (XEP-0203) may still be the server's replay. */
      replayOpen?: () => boolean;
      /** Told of each stamped presence while the replay may run, and whether it was served. */
      onReplay?: (fullJid: string, served: boolean) => void;
      /** Told when a server user's session comes online (bare JID): its held mail can go. */
      onServerUserOnline?: (bareJid: string) => void;
      /** Told, after every event a session's machine took, whether it is available. */
      onSession?: (fullJid: string, available: boolean) => void;
    },
  ) {}

  /** One inbound presence stanza. Returns whether it was taken as part of the server's replay. */
  presence(stanza: Element): boolean {
    const parsed = parsePresence(stanza);
    if (parsed.kind !== "session") {
      this.refuse(
        parsed.kind === "ignored" ? "presence_ignored" : "presence_rejected",
        parsed.reason,
        parsed.from,
        parsed.detail,
      );
      return false;
    }
    const { jid, event } = parsed;
    if (event.type === "presence.available" && event.delay !== undefined) {
      if (this.deps.replayOpen?.()) {
        this.deps.onReplay?.(jid.full, this.accept(jid, event));
        return true;
      }
      // Outside the replay, a delay is only the user's word: a live presence.
      const { delay: _, ...live } = event;
      this.accept(jid, live);
      return false;
    }
    this.accept(jid, event);
    return false;
  }

  /**
   * A session presence of known shape, from the wire or from the server's
   * session list (`origin` "listed": its reason says so): filtered by the
   * routing policy, then fed to its machine. Returns whether it was fed
   * (served).
   */
  accept(jid: FullJid, event: SessionEvent, origin?: "listed"): boolean {
    const policy = this.deps.policy();
    // A session already tracked is followed to its end even if a reload
    // (SIGHUP) has since narrowed the filters: the server user was told it
    // is available, so it must hear when it is not.
    const tracked = this.deps.registry.stateOf(jid.full).presence === "available";
    if (!tracked && !this.deps.serves(jid.domain)) {
      this.refuse("presence_rejected", "domain not served", jid.full);
      return false;
    }
    // The server user's own sessions never notify the server user (PROTOCOL.md, Filters).
    if (jid.local === policy.serverUser && event.type === "presence.available") {
      this.deps.onServerUserOnline?.(jid.bare);
    }
    if (jid.local === policy.serverUser || (!tracked && !policy.accepts(jid.local))) {
      this.deps.counters.inc("presence_filtered");
      return false;
    }
    this.deps.counters.inc("presence_accepted");
    this.drive(jid, event, origin === "listed");
    return true;
  }

  /** Feeds one event to a session's machine; a transition that notifies goes outbound. */
  drive(jid: Pick<FullJid, "full" | "bare" | "domain">, event: SessionEvent, listed = false): void {
    const { registry, onSession } = this.deps;
    const applied = registry.apply(jid.full, event);
    onSession?.(jid.full, registry.stateOf(jid.full).presence === "available");
    if (!applied?.session.notify) return;
    const presence = applied.session.to === "available" ? "available" : "unavailable";
    this.deps.outbound.offer(this.transition(jid, presence, applied.session.cause, listed));
  }

  /** The same, for a session known only by the full JID it is tracked under. */
  driveTracked(full: string, event: SessionEvent): void {
    const parsed = parseFullJid(full);
    if (parsed.ok) this.drive(parsed.jid, event);
  }

  /**
   * Durable mode, for a reconcile after the state file could not be written:
   * the transition telling the server user that `full` is now `presence`.
   */
  announce(full: string, presence: "available" | "unavailable"): Transition | undefined {
    // Every JID the registry or the sessions table holds was checked on entry.
    const parsed = parseFullJid(full);
    if (!parsed.ok) return undefined;
    return this.transition(parsed.jid, presence, "store_recovered");
  }

  /** The transition's notification, made now: `ts` is the moment its machine took it. */
  private transition(
    jid: Pick<FullJid, "full" | "bare" | "domain">,
    presence: "available" | "unavailable",
    cause: TransitionCause | "store_recovered",
    listed = false,
  ): Transition {
    const now = this.deps.now();
    const fields = this.deps.fields?.() ?? [];
    const notification = newNotification(
      jid,
      presence,
      this.deps.policy().serverUser,
      now,
      this.deps.sequence?.next(jid.full),
      fieldsFor(fields, now, reasonOf(cause, listed)),
    );
    return { full: jid.full, bare: jid.bare, presence, notification, cause };
  }

  /**
   * Counts every refusal; logs the 1st, 2nd, 4th, 8th... of each reason, so
   * a flood of bad input cannot flood the log. `reason` is a fixed sentence
   * chosen by the code (it is the limiter's key); the input that caused it
   * goes in `detail` and `from`, logged only as bounded excerpts.
   */
  refuse(counter: string, reason: string, from: string | undefined, detail?: string): void {
    this.deps.counters.inc(counter);
    const hit = this.limiter.hit(`${counter}:${reason}`);
    if (!hit.log) return;
    this.deps.logger.warn(
      {
        reason: excerpt(reason),
        from: excerpt(from),
        ...(detail === undefined ? {} : { excerpt: excerpt(detail) }),
        count: hit.count,
        ...(hit.shared ? { shared: true } : {}),
      },
      `${counter.replace("_", " ")}`,
    );
  }

  /**
   * A failure caused by input (a handler that threw, say): logged through
   * the same limiter, under a fixed `what`.
   */
  failure(what: string, fields: Record<string, unknown>): void {
    const hit = this.limiter.hit(`failure:${what}`);
    if (hit.log) this.deps.logger.error({ ...fields, count: hit.count }, what);
  }
}
