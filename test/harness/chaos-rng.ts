/**
 * The chaos run's only source of choices: mulberry32, a 32-bit PRNG small
 * enough to read, so a seed printed by a failed run replays the same
 * schedule of faults and user actions (timing, a real server's, is not in
 * the seed: the schedule is, and the oracle judges whatever it produced).
 */
export class Rng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick from an empty list");
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** One of `weights`' keys, each as likely as its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0) return key;
    }
    return (entries.at(-1) as [K, number])[0];
  }
}

/**
 * A fault schedule: every kind with a weight once, in a seeded order (so a
 * short run meets each of them: `pending()` says how many are still to be
 * dealt), then weighted draws.
 */
export function deck<K extends string>(
  rng: Rng,
  weights: Readonly<Record<K, number>>,
): (() => K) & { pending: () => number } {
  const first = (Object.keys(weights) as K[]).filter((k) => weights[k] > 0);
  for (let i = first.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [first[i], first[j]] = [first[j] as K, first[i] as K];
  }
  return Object.assign(() => first.shift() ?? rng.weighted(weights), {
    pending: () => first.length,
  });
}

/** A seed from the clock, for runs that were not given one (it is printed). */
export function freshSeed(): number {
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
