/**
 * How untrusted input reaches the log: limited in count and in size.
 *
 * A flood of one bad input must write a few lines with a count, not one
 * line per stanza, request or broker message; and an input must not make a
 * line huge. Every place that logs a refusal or a failure caused by input
 * goes through a `LogLimiter` and quotes input only through `excerpt`.
 */

/** What `LogLimiter.hit` says about one occurrence. */
export interface Hit {
  /** Log this occurrence. */
  readonly log: boolean;
  /** Occurrences so far of this key (or, when `shared`, of every key not tracked). */
  readonly count: number;
  /** The key is not tracked on its own: the limiter was full when it first came. */
  readonly shared: boolean;
}

/**
 * Logs the 1st, 2nd, 4th, 8th... occurrence of each key.
 *
 * Keys should be chosen by the code (a counter and a fixed reason), never
 * built from input; the limiter is bounded anyway, by design rather than by
 * trust: it tracks at most `maxKeys` keys, and every later key shares one
 * bucket. So for n occurrences of any keys at all it logs at most
 * (maxKeys + 1) * (floor(log2 n) + 1) lines and holds maxKeys + 1 counts
 * (test/unit/log-limiter.test.ts, with adversarial keys).
 */
export class LogLimiter {
  private readonly counts = new Map<string, number>();
  private shared = 0;

  constructor(readonly maxKeys = 256) {}

  hit(key: string): Hit {
    const tracked = this.counts.get(key);
    if (tracked !== undefined || this.counts.size < this.maxKeys) {
      const count = (tracked ?? 0) + 1;
      this.counts.set(key, count);
      return { log: isPowerOfTwo(count), count, shared: false };
    }
    this.shared++;
    return { log: isPowerOfTwo(this.shared), count: this.shared, shared: true };
  }

  /** How many keys are tracked on their own (at most `maxKeys`). */
  get size(): number {
    return this.counts.size;
  }
}

const isPowerOfTwo = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** The longest excerpt of an input a log line carries, in UTF-16 code units. */
export const EXCERPT_MAX = 200;

/**
 * At most `max` code units of an untrusted string, for a log line: longer
 * text is cut (never inside a surrogate pair) and says how much was left
 * out, so a 200 KB attribute costs the log a couple of hundred bytes.
 */
export function excerpt(text: string | undefined, max = EXCERPT_MAX): string | undefined {
  if (text === undefined || text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate: keep the pair whole
  return `${text.slice(0, end)}…(${text.length - end} more)`;
}
