import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "../../../src/config/duration.js";

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["1ms", 1],
    ["10s", 10_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["596h", 596 * 3_600_000],
    ["2147483647ms", MAX_DURATION_MS],
  ])("parses %s as %d ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    ["", /is not a duration: ""; expected .*"500ms", "10s", "5m" or "1h"/],
    ["10", /is not a duration/],
    ["1.5s", /is not a duration/],
    ["-1s", /is not a duration/],
    ["10 s", /is not a duration/],
    ["10S", /is not a duration/],
    ["1m30s", /is not a duration/],
    ["1d", /is not a duration/],
    [" 1s", /is not a duration/],
    ["0ms", /must be longer than zero/],
    ["0h", /must be longer than zero/],
    ["597h", /is too long/],
    ["2147483648ms", /is too long/],
    ["99999999999999999999h", /is too long/],
  ])("refuses %j", (text, reason) => {
    const parsed = parseDuration(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it.each([
    [500, "500ms"],
    [1_500, "1500ms"],
    [30_000, "30s"],
    [90_000, "90s"],
    [300_000, "5m"],
    [7_200_000, "2h"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("formats to a text that parses back to the same duration (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_MS }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, ms });
      }),
    );
  });
});
