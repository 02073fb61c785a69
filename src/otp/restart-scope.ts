import type { Strategy } from "./supervisor-spec.js";

/** Positions of the children to restart when child `failed` (of `count`) must be restarted. */
export type RestartScope = (strategy: Strategy, count: number, failed: number) => number[];

/** OTP supervisor.erl `restart/3`: one_for_one, one_for_all, rest_for_one. */
export const restartScope: RestartScope = (strategy, count, failed) => {
  const from = strategy === "one_for_all" ? 0 : failed;
  const to = strategy === "one_for_one" ? failed + 1 : count;
  return Array.from({ length: to - from }, (_, i) => from + i);
};
