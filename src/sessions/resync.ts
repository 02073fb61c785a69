import { type Actor, createActor, fromPromise, type InspectionEvent, type Observer } from "xstate";
import { type ReconcileResult, resyncMachine } from "../machines/resync.js";
import type { SessionEvent } from "../machines/session.js";
import type { Clock } from "../otp/clock.js";
import { describeReason } from "../otp/supervisor-reports.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { Pinger } from "../xmpp/ping.js";
import type { ListedSession, SessionList } from "../xmpp/session-list.js";
import type { Liveness } from "./liveness.js";
import type { SessionRegistry } from "./session-registry.js";

/**
 * Reconciles sessions after the component's connection comes back: the
 * owner of one actor of the resync machine (src/machines/resync.ts, which
 * decides when), doing what it decides.
 *
 * While we were away, sessions may have ended without us hearing (Prosody
 * bounces presences to a missing component; ejabberd drops them). So when a
 * connection attempt begins, every available session becomes unconfirmed.
 *
 * Prosody then replays one presence (with a XEP-0203 delay) per available
 * session; each confirms its session silently. Which delayed presences are
 * that replay is decided by where they arrive, never by the delay alone: a
 * client can put a `<delay/>` in its own presence, even `from="localhost"`,
 * and both servers forward it unchanged (SERVERS.md). What a user cannot
 * produce is where the replay sits in the stream. Prosody's mod_privilege,
 * on `component-authenticated`, writes its `<message><privilege/></message>`
 * advertisement and then the stored presence of every available session, in
 * the same synchronous handler as `<handshake/>`: nothing else can come
 * between them, and they reach us in the read that carries the handshake, so
 * before xmpp.js reports "online" (it does so in a microtask after that
 * read). Each replayed presence is the session's last presence with a delay
 * appended by mod_presence, `from` = the user's own host. ejabberd replays
 * nothing; its advertisement goes through a hook and a gen_server cast, and
 * users' presences are forwarded only once it is sent. The machine's
 * `replay` region keeps that rule.
 *
 * The replay is over once no replayed presence has come for `settleMs`
 * (at the latest `REPLAY_WINDOW_FACTOR + 1` times that after "online"). Then:
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
export interface ResyncDeps {
  registry: SessionRegistry;
  drive: (jid: string, event: SessionEvent) => void;
  /** Feeds a session the server lists as online (filtered like a presence). */
  admit: (session: ListedSession) => void;
  /** The server's own list of live sessions, where it has one (ejabberd's API). */
  sessionList?: SessionList;
  pinger: Pinger;
  /** The rate-limited pinger of quiet sessions; used when it is enabled. */
  liveness: Pick<Liveness, "enabled" | "checkSoon">;
  /** The machine's timers run on it (XState's `clock`). */
  clock: Clock;
  counters: Counters;
  logger: Logger;
  settleMs: number;
  concurrency: number;
  /** `start --inspect`: the machine's actor reports here, as the supervised ones do. */
  inspect?: Observer<InspectionEvent>;
}

/** What this attempt's replay counted (the machine's guards read it). */
interface Tally {
  /** Served sessions counted, over all the attempt's advertisements. */
  counted: number;
  /** Sessions counted since the last advertisement. */
  seen: Set<string>;
  /** Since when the replay is quiet: "online", or the last presence counted. */
  quietSince: number;
}

export class Resync {
  private readonly actor: Actor<typeof resyncMachine>;
  private tally: Tally = { counted: 0, seen: new Set(), quietSince: 0 };

  constructor(private readonly deps: ResyncDeps) {
    this.actor = createActor(this.logic(), {
      id: "resync",
      clock: deps.clock,
      input: { settleMs: deps.settleMs, sessionList: deps.sessionList !== undefined },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    });
    this.actor.start();
  }

  /** A connection attempt starts: nothing we believe is confirmed any more. */
  connecting(): void {
    this.actor.send({ type: "connecting" });
  }

  /** The link is up: wait for the replay to go quiet, then settle the rest. */
  online(): void {
    this.tally.quietSince = this.deps.clock.now();
    this.actor.send({ type: "online" });
  }

  /** This connection's privilege advertisement (XEP-0356 section 4.2) arrived. */
  advertised(): void {
    this.actor.send({ type: "advertisement" });
  }

  /** Whether a presence stamped by its server may still be part of the replay. */
  replayOpen(): boolean {
    return this.actor.getSnapshot().hasTag("open");
  }

  /**
   * A presence stamped by its server arrived while the window was open;
   * `served`: it passed the routing filters.
   */
  replayed(session: string, served: boolean): void {
    // Outside the window a stamped presence is a live one: it ends the replay.
    if (!this.replayOpen()) this.interrupted();
    // One not served (filtered, foreign) neither counts nor closes the window.
    else if (served) {
      if (this.tally.seen.has(session)) this.actor.send({ type: "replay.repeated" });
      else this.count(session);
    }
  }

  private count(session: string): void {
    const { tally } = this;
    tally.seen.add(session);
    tally.counted++;
    tally.quietSince = this.deps.clock.now();
  }

  /** Any other stanza: the server's replay, written in one go, is over. */
  interrupted(): void {
    // Every stanza comes here: the machine hears of it only while it matters.
    if (this.actor.getSnapshot().hasTag("listening")) this.actor.send({ type: "other" });
  }

  /** The link is down: stop verifying; the next connection starts over. */
  offline(): void {
    this.actor.send({ type: "offline" });
  }

  private logic() {
    const { registry, pinger, counters, logger, clock, settleMs } = this.deps;
    const quietUntil = () => this.tally.quietSince + settleMs;
    return resyncMachine.provide({
      guards: {
        replayed: () => this.tally.counted > 0,
        quiet: () => clock.now() >= quietUntil(),
      },
      delays: {
        settle: () => Math.max(0, quietUntil() - clock.now()),
      },
      actions: {
        beginResync: () => registry.beginResync(),
        newTally: () => {
          this.tally = { counted: 0, seen: new Set(), quietSince: clock.now() };
        },
        forgetSeen: () => {
          this.tally.seen = new Set();
        },
        cancelPings: () => pinger.cancelAll(),
        reportFailure: ({ context: { error, failures } }) => {
          counters.inc("resync_failures");
          // The 1st, 2nd, 4th, 8th... failure in a row is logged (a power of two).
          if ((failures & (failures - 1)) === 0)
            logger.error(
              {
                supervisor: "resync",
                child: "settle",
                reason: describeReason(error),
                restarts: failures,
              },
              "resync settle crashed; it runs again after a backoff",
            );
        },
      },
      actors: {
        reconcile: fromPromise<ReconcileResult>(({ signal }) => this.reconcile(signal)),
        dropUnreplayed: fromPromise<void>(async () => this.dropUnreplayed()),
        verify: fromPromise<void>(({ signal }) => this.verify(signal)),
      },
    });
  }

  /**
   * Makes our view equal the server's list: listed sessions are admitted (a
   * new one is announced, a known one confirmed), unconfirmed ones not
   * listed are gone. "unavailable" when the list could not be had.
   */
  private async reconcile(stopped: AbortSignal): Promise<ReconcileResult> {
    let listed: ListedSession[];
    try {
      if (this.deps.sessionList === undefined) throw new Error("no session list is configured");
      listed = await this.deps.sessionList();
    } catch (err) {
      this.deps.counters.inc("resync_session_list_failed");
      this.deps.logger.warn(
        { err: (err as Error).message },
        "the server's session list failed; falling back",
      );
      return "unavailable";
    }
    if (stopped.aborted) return "reconciled";
    for (const session of listed) this.deps.admit(session);
    this.deps.logger.info({ sessions: listed.length }, "reconciled with the server's session list");
    this.dropUnreplayed();
    return "reconciled";
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
    // Counted as each is driven: a step that threw part way is run again.
    for (const jid of lost) {
      this.deps.drive(jid, { type: "resync.lost" });
      this.deps.counters.inc("resync_lost");
    }
  }

  private async verify(stopped: AbortSignal): Promise<void> {
    const { registry, logger, liveness } = this.deps;
    const pending = [...registry.sessionsInState({ presence: "available", confirmed: false })];
    if (pending.length === 0) return;
    logger.info({ sessions: pending.length }, "verifying sessions not confirmed after reconnect");
    // With liveness checks on, the pings go through their rate limit.
    if (liveness.enabled) return liveness.checkSoon(pending);
    let next = 0;
    const worker = async () => {
      while (next < pending.length && !stopped.aborted) {
        const jid = pending[next++] as string;
        await this.check(jid, stopped);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.deps.concurrency, pending.length) }, worker),
    );
  }

  private async check(full: string, stopped: AbortSignal): Promise<void> {
    const { registry, pinger, counters } = this.deps;
    if (registry.stateOf(full).confirmed !== false) return; // confirmed meanwhile
    let outcome = await pinger.ping(full);
    if (outcome === "timeout" && !stopped.aborted) outcome = await pinger.ping(full);
    this.deps.logger.debug({ session: full, outcome }, "resync ping");
    if (stopped.aborted || outcome === "error") return;
    counters.inc(`resync_ping_${outcome}`);
    this.deps.drive(full, { type: outcome === "alive" ? "liveness.ok" : "liveness.failed" });
  }
}
