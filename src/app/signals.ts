/**
 * The process's stop and reload signals, listened to from the first line of
 * `bin/presence-notify`, before any of the daemon's modules load.
 *
 * Without a listener a signal takes its default action, and `start` has work
 * to do before its daemon can listen: load its modules, read the
 * configuration, open the state file, bind the admin listener. A SIGHUP then
 * (`systemctl reload` right after a start) would end the process, and
 * systemd counts death by SIGHUP as a clean exit, so `Restart=on-failure`
 * would leave the daemon down. So every signal is taken from the start and
 * kept until its owner is ready:
 *
 * - SIGTERM / SIGINT: remembered; `start` checks `stopping` between its
 *   start-up steps and unwinds what it opened (exit 0), and once the daemon
 *   runs `whenStop` hands the signal to its drain;
 * - SIGHUP: remembered; once the daemon runs `whenReload` reloads once for
 *   every SIGHUP that came before (one re-read of the file covers them all).
 *
 * Commands other than `start` call `release()`: the listeners go, and a stop
 * signal that came meanwhile is raised again with the default action.
 */
export type StopSignal = "SIGTERM" | "SIGINT";

const STOPS: readonly StopSignal[] = ["SIGTERM", "SIGINT"];

/** The part of `process` the signals need (a test can hand in its own emitter). */
export interface SignalSource {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
  kill(pid: number, signal: string): unknown;
  readonly pid: number;
}

export class Signals {
  #stop: StopSignal | undefined;
  #reloadPending = false;
  #onStop: ((signal: StopSignal) => void) | undefined;
  #onReload: (() => void) | undefined;
  readonly #listeners = new Map<string, () => void>();

  constructor(private readonly source: SignalSource = process) {
    for (const signal of STOPS) this.#listen(signal, () => this.#stopped(signal));
    this.#listen("SIGHUP", () => this.#reload());
  }

  /** The stop signal that has arrived, if one has. */
  get stopping(): StopSignal | undefined {
    return this.#stop;
  }

  /** From now on a stop signal calls `fn`; at once if one came already. Later ones call it again. */
  whenStop(fn: (signal: StopSignal) => void): void {
    this.#onStop = fn;
    if (this.#stop !== undefined) fn(this.#stop);
  }

  /** From now on SIGHUP calls `fn`; at once (one call) if any came before. */
  whenReload(fn: () => void): void {
    this.#onReload = fn;
    if (this.#reloadPending) {
      this.#reloadPending = false;
      fn();
    }
  }

  /** Gives the signals back their default actions; re-raises a stop signal that came meanwhile. */
  release(): void {
    for (const [signal, listener] of this.#listeners) this.source.off(signal, listener);
    this.#listeners.clear();
    if (this.#stop !== undefined) this.source.kill(this.source.pid, this.#stop);
  }

  #listen(signal: string, listener: () => void): void {
    this.#listeners.set(signal, listener);
    this.source.on(signal, listener);
  }

  #stopped(signal: StopSignal): void {
    this.#stop ??= signal;
    this.#onStop?.(signal);
  }

  #reload(): void {
    if (this.#onReload) this.#onReload();
    else this.#reloadPending = true;
  }
}
