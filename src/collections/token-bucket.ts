/**
 * A token bucket as pure functions over an injected time: `rate` tokens a
 * second, at most `burst` banked. Used to spread liveness pings evenly; the
 * same shape serves any other rate limit.
 */
export interface Bucket {
  readonly tokens: number;
  readonly at: number;
}

export const fullBucket = (burst: number, now: number): Bucket => ({ tokens: burst, at: now });

/** The bucket at `now`: refilled for the time passed, never above `burst`. */
export function refill(bucket: Bucket, now: number, rate: number, burst: number): Bucket {
  const elapsed = Math.max(0, now - bucket.at);
  return {
    tokens: Math.min(burst, bucket.tokens + (elapsed * rate) / 1000),
    at: Math.max(now, bucket.at),
  };
}

/** Takes one token, or returns undefined when less than one is banked. */
export function take(bucket: Bucket): Bucket | undefined {
  return bucket.tokens >= 1 ? { tokens: bucket.tokens - 1, at: bucket.at } : undefined;
}
