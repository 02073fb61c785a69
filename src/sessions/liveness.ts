import { ShardedMap } from "../collections/sharded-map.js";
import { type Bucket, fullBucket, refill, take } from "../collections/token-bucket.js";
import type { SessionEvent } from "../machines/session.js";
import type { Clock } from "../otp/clock.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import type { PingOutcome } from "../xmpp/ping.js";

/**
 * Finds sessions the server never reports gone (ejabberd says nothing to a
 * component when a client's socket drops; SERVERS.md) with XEP-0199 pings.
 *
 * Sessions sit in Maps ordered by their last sign of life: any presence or
 * ping answer moves a session to the back of its Map. There are 64 of them
 * (a `ShardedMap`, by a hash of the JID), so that a million sessions coming
 * and going never stop the loop for one big Map's rebuild. Every tick walks
 * the fronts, the sessions quiet for at least `intervalMs`, shard after
 * shard from where the last tick ran out of tokens, and pings as many as
 * the token bucket allows (`maxRate` a second, banked for one tick at most),
 * so pings are spread evenly and a tick costs only the sessions it pings. A session
 * that misses two answers in a row (each `timeoutMs`) or gets
 * service-unavailable is reported unavailable (cause `liveness`).
 * Sessions handed to `checkSoon` (unconfirmed after a reconnect) go first,
 * under the same rate.
 */
export interface LivenessOptions {
  clock: Clock;
  ping: (fullJid: string) => Promise<PingOutcome>;
  /** Feeds the session machine; `liveness.failed` notifies `unavailable`. */
  drive: (fullJid: string, event: SessionEvent) => void;
  /** Whether pings can go out at all (the link is up). */
  online: () => boolean;
  /** Whether a quiet session may be pinged now (e.g. not while a resync settles it). */
  canPing: (fullJid: string) => boolean;
  counters: Counters;
  logger: Logger;
  intervalMs: number;
  maxRate: number;
  tickMs?: number;
}

export class Liveness {
  /**
   * Last sign of life, in ms since `epoch`: small integers are stored in the
   * Map as they are, where a Date.now() value would be a 16-byte heap number
   * per session (bench/memory.ts). Past 2^31 ms (24 days) they are heap
   * numbers again, still correct.
   */
  private readonly lastSeen = new ShardedMap<number>();
  /** The shard the walk of quiet sessions starts at: where the last one ran out of tokens. */
  private nextShard = 0;
  private readonly epoch: number;
  /** Sessions to check before any quiet one, e.g. unconfirmed after a reconnect. */
  private readonly urgent = new Set<string>();
  private readonly inFlight = new Set<string>();
  private bucket: Bucket;
  private timer: unknown;
  private readonly tickMs: number;
  private burst: number;
  private intervalMs: number;
  private maxRate: number;

  constructor(private readonly options: LivenessOptions) {
    this.tickMs = options.tickMs ?? 100;
    this.intervalMs = options.intervalMs;
    this.maxRate = options.maxRate;
    this.burst = burstOf(this.maxRate, this.tickMs);
    this.bucket = fullBucket(this.burst, options.clock.now());
    this.epoch = options.clock.now();
  }

  /**
   * New `interval` and `max_rate` (a reload). Sessions keep their last sign
   * of life, which is tracked even while the checks are off, so turning them
   * on checks the quiet ones at once (at the new rate); 0 stops the ticks.
   */
  retune(limits: { intervalMs: number; maxRate: number }): void {
    this.intervalMs = limits.intervalMs;
    if (limits.maxRate === this.maxRate) return;
    this.maxRate = limits.maxRate;
    this.burst = burstOf(this.maxRate, this.tickMs);
    this.bucket = fullBucket(this.burst, this.options.clock.now());
    if (this.maxRate <= 0) this.stop();
    else this.start();
  }

  get tracked(): number {
    return this.lastSeen.size;
  }

  /** A sign of life from an available session: its next check is `intervalMs` away. */
  touch(fullJid: string): void {
    this.lastSeen.setLast(fullJid, this.options.clock.now() - this.epoch);
  }

  /** The session is no longer available: stop checking it. */
  forget(fullJid: string): void {
    this.lastSeen.delete(fullJid);
    this.urgent.delete(fullJid);
  }

  /** Whether the checks run at all (`maxRate` > 0). */
  get enabled(): boolean {
    return this.maxRate > 0;
  }

  /** Checks these sessions first, at the same bounded rate. */
  checkSoon(fullJids: Iterable<string>): void {
    for (const jid of fullJids) this.urgent.add(jid);
  }

  start(): void {
    if (this.maxRate <= 0 || this.timer !== undefined) return;
    const loop = () => {
      this.tick();
      this.timer = this.options.clock.setTimeout(loop, this.tickMs);
    };
    this.timer = this.options.clock.setTimeout(loop, this.tickMs);
  }

  stop(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const { intervalMs, maxRate } = this;
    const { clock } = this.options;
    const now = clock.now();
    this.bucket = refill(this.bucket, now, maxRate, this.burst);
    if (!this.options.online()) return;
    for (const jid of this.urgent) {
      if (this.inFlight.has(jid)) continue;
      const next = take(this.bucket);
      if (next === undefined) return;
      this.bucket = next;
      this.urgent.delete(jid);
      this.touch(jid);
      void this.check(jid);
    }
    const since = now - this.epoch;
    const { shards } = this.lastSeen;
    for (let n = 0; n < shards.length; n++) {
      const index = (this.nextShard + n) % shards.length;
      for (const [jid, seen] of shards[index] as Map<string, number>) {
        if (since - seen < intervalMs) break; // the rest of this shard are younger
        // Moving a session to the back re-inserts it: the walk meets it again
        // as the youngest entry and stops there.
        if (this.inFlight.has(jid) || this.urgent.has(jid) || !this.options.canPing(jid)) {
          this.touch(jid);
          continue;
        }
        const next = take(this.bucket);
        if (next === undefined) {
          this.nextShard = index; // out of tokens: it stays first in line
          return;
        }
        this.bucket = next;
        this.touch(jid);
        void this.check(jid);
      }
    }
  }

  private async check(jid: string): Promise<void> {
    const { ping, counters } = this.options;
    this.inFlight.add(jid);
    counters.inc("liveness_pings");
    let outcome = await ping(jid);
    if (outcome === "timeout" && this.lastSeen.has(jid)) {
      counters.inc("liveness_pings");
      outcome = await ping(jid);
    }
    this.inFlight.delete(jid);
    counters.inc(`liveness_${outcome}`);
    // Forgotten meanwhile (went unavailable on its own), or the link dropped.
    if (!this.lastSeen.has(jid) || outcome === "error") return;
    if (outcome === "alive") {
      this.touch(jid);
      // Confirms a session left unconfirmed by a reconnect; a no-op otherwise.
      return this.options.drive(jid, { type: "liveness.ok" });
    }
    this.forget(jid);
    this.options.logger.info({ session: jid, outcome }, "liveness check failed: session gone");
    this.options.drive(jid, { type: "liveness.failed" });
  }
}

/** At most one tick's worth of pings banked: spread evenly, never a burst. */
const burstOf = (maxRate: number, tickMs: number) => Math.max(1, (maxRate * tickMs) / 1000);
