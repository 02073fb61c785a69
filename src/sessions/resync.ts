import type { SessionEvent } from "../machines/session.js";
import type { Clock } from "../otp/clock.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { Pinger } from "../xmpp/ping.js";
import type { ListedSession, SessionList } from "../xmpp/session-list.js";
import type { Liveness } from "./liveness.js";
import { ReplayWindow } from "./replay-window.js";
import type { SessionRegistry } from "./session-registry.js";

/**
 * Reconciles sessions after the component's connection comes back.
 *
 * While we were away, sessions may have ended without us hearing (Prosody
 * bounces presences to a missing component; ejabberd drops them). So when a
 * connection attempt begins, every available session becomes unconfirmed.
 *
 * Prosody then replays one presence (with a XEP-0203 delay) per available
 * session; each confirms its session silently. Which delayed presences are
 * that replay is decided by where they arrive, never by the delay alone
 * (`ReplayWindow`, src/sessions/replay-window.ts): a user can stamp its own. The
 * replay is over once no replayed presence has come for `settleMs`, and the
 * window closes `REPLAY_WINDOW_FACTOR` times that after the link is online,
 * so the settle comes at the latest that plus `settleMs`. Then:
 * - if the server replayed anything, its replay is the whole truth: a
 *   session it did not replay is not available (it may even still be
 *   connected, having sent unavailable while we were away), so it is lost;
 * - if nothing was replayed (ejabberd replays nothing, or nobody is online),
 *   each unconfirmed session is pinged (XEP-0199): an answer confirms it,
 *   service-unavailable (or two timeouts) makes it unavailable.
 * Where the server has a list of live sessions (ejabberd's admin API), that
 * list is the truth instead: listed sessions are admitted (so a session that
 * came online during the outage is announced at once), the rest are gone.
 * Either way a departure is notified like any other.
 */
/** How long after "online" (in settle windows) a replay may still run. */
export const REPLAY_WINDOW_FACTOR = 5;

export class Resync {
  private timer: unknown;
  private generation = 0;
  private window: ReplayWindow | undefined;
  private settling = false;

  constructor(
    private readonly deps: {
      registry: SessionRegistry;
      drive: (jid: string, event: SessionEvent) => void;
      /** Feeds a session the server lists as online (filtered like a presence). */
      admit: (session: ListedSession) => void;
      /** The server's own list of live sessions, where it has one (ejabberd's API). */
      sessionList?: SessionList;
      pinger: Pinger;
      /** The rate-limited pinger of quiet sessions; used when it is enabled. */
      liveness: Pick<Liveness, "enabled" | "checkSoon">;
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
    this.window = new ReplayWindow(this.deps.settleMs * REPLAY_WINDOW_FACTOR);
    this.settling = true;
    this.deps.registry.beginResync();
  }

  /** The link is up: wait for the replay to go quiet, then settle the rest. */
  online(): void {
    this.window?.take({ type: "online", at: this.deps.clock.now() }, this.deps.clock.now());
    this.armTimer();
  }

  /** This connection's privilege advertisement (XEP-0356 section 4.2) arrived. */
  advertised(): void {
    this.window?.take({ type: "advertisement" }, this.deps.clock.now());
  }

  /** Whether a presence stamped by its server may still be part of the replay. */
  replayOpen(): boolean {
    return this.settling && this.window?.phase(this.deps.clock.now()) === "open";
  }

  /**
   * A presence stamped by its server arrived while the window was open;
   * `served`: it passed the routing filters.
   */
  replayed(session: string, served: boolean): void {
    if (!this.settling || !this.window) return;
    const counted = this.window.take({ type: "stamped", session, served }, this.deps.clock.now());
    if (counted && this.timer !== undefined) this.armTimer();
  }

  /** Any other stanza: the server's replay, written in one go, is over. */
  interrupted(): void {
    this.window?.take({ type: "other" }, this.deps.clock.now());
  }

  private armTimer(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    const generation = this.generation;
    // Read once: a settle that fails is run again by the timer's guard
    // (src/otp/timer-guard.ts), after the window is gone.
    let replayed: boolean | undefined;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.settling = false;
      replayed ??= (this.window?.counted ?? 0) > 0;
      this.window = undefined;
      return this.settle(generation, replayed);
    }, this.deps.settleMs);
  }

  private async settle(generation: number, replayed: boolean): Promise<void> {
    if (this.deps.sessionList && (await this.reconcile(this.deps.sessionList, generation))) return;
    if (generation !== this.generation) return;
    if (replayed) this.dropUnreplayed();
    else await this.verify(generation);
  }

  /**
   * Makes our view equal the server's list: listed sessions are admitted (a
   * new one is announced, a known one confirmed), unconfirmed ones not
   * listed are gone. Returns false when the list could not be had.
   */
  private async reconcile(list: SessionList, generation: number): Promise<boolean> {
    let listed: ListedSession[];
    try {
      listed = await list();
    } catch (err) {
      this.deps.counters.inc("resync_session_list_failed");
      this.deps.logger.warn(
        { err: (err as Error).message },
        "the server's session list failed; falling back",
      );
      return false;
    }
    if (generation !== this.generation) return true;
    for (const session of listed) this.deps.admit(session);
    this.deps.logger.info({ sessions: listed.length }, "reconciled with the server's session list");
    this.dropUnreplayed();
    return true;
  }

  private dropUnreplayed(): void {
    const lost = [
      ...this.deps.registry.sessionsInState({ presence: "available", confirmed: false }),
    ];
    if (lost.length > 0)
      this.deps.logger.info(
        { sessions: lost.length },
        "sessions not replayed after reconnect are gone",
      );
    this.deps.counters.inc("resync_lost", lost.length);
    for (const jid of lost) this.deps.drive(jid, { type: "resync.lost" });
  }

  /** The link is down: stop verifying; the next connection starts over. */
  offline(): void {
    this.cancel();
    this.deps.pinger.cancelAll();
  }

  private cancel(): void {
    this.generation++;
    this.settling = false;
    this.window = undefined;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async verify(generation: number): Promise<void> {
    const { registry, logger, liveness } = this.deps;
    const pending = [...registry.sessionsInState({ presence: "available", confirmed: false })];
    if (pending.length === 0) return;
    logger.info({ sessions: pending.length }, "verifying sessions not confirmed after reconnect");
    // With liveness checks on, the pings go through their rate limit.
    if (liveness.enabled) return liveness.checkSoon(pending);
    let next = 0;
    const worker = async () => {
      while (next < pending.length && generation === this.generation) {
        const jid = pending[next++] as string;
        await this.check(jid, generation);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.deps.concurrency, pending.length) }, worker),
    );
  }

  private async check(full: string, generation: number): Promise<void> {
    const { registry, pinger, counters } = this.deps;
    if (registry.stateOf(full).confirmed !== false) return; // confirmed meanwhile
    let outcome = await pinger.ping(full);
    if (outcome === "timeout" && generation === this.generation) outcome = await pinger.ping(full);
    this.deps.logger.debug({ session: full, outcome }, "resync ping");
    if (generation !== this.generation || outcome === "error") return;
    counters.inc(`resync_ping_${outcome}`);
    this.deps.drive(full, { type: outcome === "alive" ? "liveness.ok" : "liveness.failed" });
  }
}
