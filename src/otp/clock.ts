/**
 * Time as every part of the daemon sees it. It is XState's `Clock` (so the same
 * object can be handed to `createActor(..., { clock })`) plus `now()`.
 *
 * Production code receives `systemClock`; unit tests hand in XState's own
 * `SimulatedClock` and move time with `increment(ms)`, so no test sleeps.
 */
export interface Clock {
  now(): number;
  // biome-ignore lint/suspicious/noExplicitAny: the shape of XState's Clock.
  setTimeout(fn: (...args: any[]) => void, ms: number): any;
  // biome-ignore lint/suspicious/noExplicitAny: the shape of XState's Clock.
  clearTimeout(id: any): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};
