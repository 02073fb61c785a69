/**
 * Durations as written in the configuration: a positive whole number and a
 * unit, "500ms", "10s", "5m" or "1h". No fractions, no compound forms ("1m30s"),
 * no bare numbers: a bare number would leave the reader guessing the unit.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Node's timers fire at once for longer delays (they hold a signed 32-bit ms count). */
export const MAX_DURATION_MS = 2_147_483_647;

export const DURATION_FORMS = '"500ms", "10s", "5m" or "1h"';

export type DurationParse =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly reason: string };

export function parseDuration(text: string): DurationParse {
  const match = /^([0-9]+)(ms|s|m|h)$/.exec(text);
  if (match === null) {
    return {
      ok: false,
      reason: `is not a duration: ${JSON.stringify(text)}; expected a positive whole number followed by ms, s, m or h, such as ${DURATION_FORMS}`,
    };
  }
  const amount = Number(match[1]);
  const ms = amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (amount === 0) {
    return { ok: false, reason: `must be longer than zero; got ${JSON.stringify(text)}` };
  }
  if (!Number.isSafeInteger(ms) || ms > MAX_DURATION_MS) {
    return {
      ok: false,
      reason: `is too long: ${JSON.stringify(text)}; the longest a timer can wait is ${MAX_DURATION_MS}ms (about 24 days)`,
    };
  }
  return { ok: true, ms };
}

/** The shortest exact form of a duration: 30000 -> "30s", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["h", UNIT_MS.h],
    ["m", UNIT_MS.m],
    ["s", UNIT_MS.s],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
