/**
 * Waiting on a real server or a real peer in real time: for the launchers'
 * readiness checks, end-to-end tests and benchmarks, never for unit tests
 * (those inject a clock).
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `waitFor` ran out of time; a probe's own exception passes through instead. */
export class WaitTimeout extends Error {
  readonly _tag = "WaitTimeout";
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = "WaitTimeout";
  }
}

type Probed<T> = T | undefined | false;

/**
 * Polls `probe` every `intervalMs` until it returns something other than
 * `undefined`/`false` and resolves with it. A probe that throws ends the wait
 * with its exception (a launcher's "the process died" is final).
 */
export async function waitFor<T>(
  probe: () => Probed<T> | PromiseLike<Probed<T>>,
  timeoutMs = 5_000,
  what = "condition",
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new WaitTimeout(what, timeoutMs);
    await sleep(intervalMs);
  }
}
