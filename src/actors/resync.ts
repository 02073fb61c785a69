import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import type { SessionEvent } from "../machines/session.js";
import { parseFullJid } from "../protocol/jid.js";
import type { Pinger } from "../xmpp/ping.js";
import type { Counters } from "./counters.js";
import type { SessionRegistry } from "./session-registry.js";

/**
 * Reconciles sessions after the component's connection comes back.
 *
 * While we were away, sessions may have ended without us hearing (Prosody
 * bounces presences to a missing component; ejabberd drops them). So when a
 * connection attempt begins, every available session becomes unconfirmed.
 * A replayed presence (Prosody sends one per live session right after the
 * handshake) confirms it silently. Once the replay has had `settleMs` to
 * arrive, each session still unconfirmed is pinged (XEP-0199): an answer
 * confirms it, `service-unavailable` (or two timeouts) makes it unavailable,
 * notified like any other departure.
 */
export class Resync {
  private timer: unknown;
  private generation = 0;

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      drive: (jid: { full: string; bare: string; domain: string }, event: SessionEvent) => void;
      pinger: Pinger;
      clock: Clock;
      counters: Counters;
      logger: Logger;
      settleMs: number;
      concurrency: number;
    },
  ) {}

  /** A connection attempt starts: nothing we believe is confirmed any more. */
  connecting(): void {
    this.cancel();
    this.deps.registry.beginResync();
  }

  /** The link is up: give the replay time to arrive, then verify the rest. */
  online(): void {
    this.cancel();
    const generation = this.generation;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      void this.verify(generation);
    }, this.deps.settleMs);
  }

  /** The link is down: stop verifying; the next connection starts over. */
  offline(): void {
    this.cancel();
    this.deps.pinger.cancelAll();
  }

  private cancel(): void {
    this.generation++;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async verify(generation: number): Promise<void> {
    const { registry, logger } = this.deps;
    const pending = [...registry.sessionsInState({ presence: "available", confirmed: false })];
    if (pending.length === 0) return;
    logger.info({ sessions: pending.length }, "verifying sessions not confirmed after reconnect");
    let next = 0;
    const worker = async () => {
      while (next < pending.length && generation === this.generation) {
        const jid = pending[next++] as string;
        await this.check(jid, generation);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.concurrency, pending.length) }, worker));
  }

  private async check(full: string, generation: number): Promise<void> {
    const { registry, pinger, counters } = this.deps;
    if (registry.stateOf(full).confirmed !== false) return; // confirmed meanwhile
    let outcome = await pinger.ping(full);
    if (outcome === "timeout" && generation === this.generation) outcome = await pinger.ping(full);
    if (generation !== this.generation || outcome === "error") return;
    counters.inc(`resync_ping_${outcome}`);
    const parsed = parseFullJid(full);
    if (!parsed.ok) return;
    this.deps.drive(parsed.jid, { type: outcome === "alive" ? "liveness.ok" : "liveness.failed" });
  }
}
