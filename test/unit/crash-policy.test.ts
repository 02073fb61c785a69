import { describe, expect, it } from "vitest";
import { crashPolicy, EXIT_ESCAPED } from "../../src/app/crash-policy.js";
import { logSink } from "../support/log-sink.js";

// What an error that escaped every handler does to the process (cli.ts
// installs it on uncaughtException and unhandledRejection).

describe("an escaped error", () => {
  it("is logged once, as JSON with where it came from, and exits 70 for the service manager", () => {
    const { logger, records } = logSink();
    const exits: number[] = [];
    const escaped = crashPolicy(logger, (code) => exits.push(code));
    escaped("uncaughtException", new TypeError(`Invalid URL ${"x".repeat(10_000)}`));
    escaped("unhandledRejection", "a second one while exiting");
    expect(exits).toEqual([EXIT_ESCAPED]);
    expect(EXIT_ESCAPED).toBe(70);
    expect(records).toHaveLength(1);
    const [line] = records;
    expect(line).toMatchObject({ level: 60, event: "escaped_error", origin: "uncaughtException" });
    expect(String(line?.err)).toMatch(/^Invalid URL x+…\(\d+ more\)$/);
    expect(String(line?.stack).length).toBeLessThan(4_100);
  });
});
