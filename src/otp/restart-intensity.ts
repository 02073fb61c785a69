/**
 * OTP's restart intensity (supervisor.erl `add_restart/3`): keep the restart
 * times that fall within `period` of now, add this one, and give up when more
 * than `intensity` remain. Pure, so the supervisor and the property tests share
 * one definition of "too many restarts".
 */
export interface RestartLimits {
  /** Restarts tolerated within `period`. */
  intensity: number;
  /** Window, in ms. */
  period: number;
}

export interface RestartDecision {
  /** Restart times still inside the window, oldest first, including `now`. */
  history: readonly number[];
  /** True when this restart is one too many: the supervisor must give up. */
  exceeded: boolean;
}

export function recordRestart(
  history: readonly number[],
  now: number,
  limits: RestartLimits,
): RestartDecision {
  // OTP keeps R when R >= Now - Period: a restart exactly `period` ago still counts.
  const threshold = now - limits.period;
  const recent = [...history.filter((t) => t >= threshold), now];
  return { history: recent, exceeded: recent.length > limits.intensity };
}
