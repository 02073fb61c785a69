import type { ResolvedBackoff } from "./supervisor-spec.js";

/**
 * The delay before the `attempt`-th consecutive restart of one child
 * (attempt 1 = the first restart), like Akka's `restartWithBackoff`:
 * `initial * factor^(attempt - 1)`, capped at `max`, then shortened by up to
 * `jitter` of itself so that many children failing together do not restart in
 * lock-step. The result never exceeds `max`.
 *
 * A small pure function rather than Effect's `Schedule`: stepping a Schedule
 * (even `Schedule.exponential` + `Schedule.jittered`) runs inside an Effect
 * with the Random and Clock services, while the supervisor needs one number,
 * synchronously, from inside an XState transition.
 */
export function backoffDelay(
  attempt: number,
  backoff: Pick<ResolvedBackoff, "initial" | "max" | "factor" | "jitter">,
  random: () => number,
): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(backoff.max, backoff.initial * backoff.factor ** exponent);
  return Math.floor(base * (1 - backoff.jitter * random()));
}

/**
 * Which consecutive restart this is: the count goes on while a child keeps
 * failing, and starts again at 1 once it ran for `resetAfter` ms (Akka's
 * `resetBackoffAfter`).
 */
export function backoffAttempt(previous: number, ranFor: number, resetAfter: number): number {
  return ranFor >= resetAfter ? 1 : previous + 1;
}
