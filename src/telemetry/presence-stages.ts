import { performance } from "node:perf_hooks";

/**
 * Where a presence's time goes inside the daemon, stage by stage, as
 * histograms (exported as `presence_notify_presence_stage_seconds{stage}`,
 * src/admin/metrics.ts):
 *
 * - read: from the socket read that brought its start tag to the parser
 *   reaching that tag (the stanzas before it in the same read, handled first);
 * - parse: from its start tag to its end tag (the element tree is built; a
 *   stanza split across reads waits here for the rest);
 * - route: from its end tag to its handlers returning (JID checks, the
 *   session machine, the outbound stages, the mailbox, the transition log);
 * - queue: a notification, from entering the mailbox to the notifier taking
 *   it for a write;
 * - write: from being taken to the link accepting the write.
 *
 * read, parse and route are per presence off the stream; queue and write per
 * notification, whatever made it. Kept as plain bucket counts, a few
 * additions per presence: cheap enough to stay on (BENCHMARKS.md).
 */
export const STAGES = ["read", "parse", "route", "queue", "write"] as const;
export type Stage = (typeof STAGES)[number];

/** Bucket upper bounds, seconds: from a few microseconds to an outage. */
export const STAGE_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 1, 10, 60,
];

const BOUNDS_MS = Float64Array.from(STAGE_BUCKETS, (s) => s * 1000);
const READ = 0;
const PARSE = 1;
const ROUTE = 2;
const QUEUE = 3;
const WRITE = 4;

/** One stage's histogram: cumulative counts per bucket (the last is +Inf), sum in seconds. */
export interface StageHistogram {
  readonly buckets: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** Milliseconds, monotonic, fractional: what the daemon times its stages with. */
export const monotonicMs = (): number => performance.now();

export class PresenceStages {
  // Per stage, a count per bucket (not cumulative; the last is +Inf).
  private readonly counts = STAGES.map(() => new Float64Array(BOUNDS_MS.length + 1));
  private readonly sums = new Float64Array(STAGES.length);
  // When each notification entered the mailbox; weak, so one never sent costs nothing.
  private readonly queued = new WeakMap<object, number>();

  /** `now`: milliseconds; tests hand in their simulated clock's. */
  constructor(readonly now: () => number = monotonicMs) {}

  /** A presence off the stream: when its read came, its start and end tags, its handlers' return. */
  presence(readAt: number, startAt: number, endAt: number, doneAt: number): void {
    this.observe(READ, startAt - readAt, 1);
    this.observe(PARSE, endAt - startAt, 1);
    this.observe(ROUTE, doneAt - endAt, 1);
  }

  /** `n` enters the mailbox now. */
  enter(n: object): void {
    this.queued.set(n, this.now());
  }

  /**
   * `n` was taken for a write at `takenAt`. Its wait is from its entry, or,
   * for one not seen entering (read back from the state file), `ageMs`
   * (its age on the daemon's clock).
   */
  take(n: object, takenAt: number, ageMs: number): void {
    const at = this.queued.get(n);
    this.observe(QUEUE, at === undefined ? ageMs : takenAt - at, 1);
  }

  /** `count` notifications taken at `takenAt`, in one write the link accepted at `doneAt`. */
  written(count: number, takenAt: number, doneAt: number): void {
    this.observe(WRITE, doneAt - takenAt, count);
  }

  /** Every stage's histogram, read now. */
  snapshot(): Record<Stage, StageHistogram> {
    const out = {} as Record<Stage, StageHistogram>;
    STAGES.forEach((stage, i) => {
      const counts = this.counts[i] as Float64Array;
      const buckets: number[] = [];
      let total = 0;
      for (const c of counts) {
        total += c;
        buckets.push(total);
      }
      out[stage] = { buckets, sum: (this.sums[i] ?? 0) / 1000, count: total };
    });
    return out;
  }

  private observe(stage: number, ms: number, times: number): void {
    // A clock step backwards is no negative time.
    const value = Math.max(ms, 0);
    const counts = this.counts[stage] as Float64Array;
    let b = 0;
    while (b < BOUNDS_MS.length && value > (BOUNDS_MS[b] as number)) b++;
    counts[b] = (counts[b] as number) + times;
    this.sums[stage] = (this.sums[stage] as number) + value * times;
  }
}
