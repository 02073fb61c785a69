import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { pseudonymiser } from "../../src/protocol/pseudonym.js";
import { asString, infoLine } from "../../src/telemetry/line-writer.js";
import { createLogger, type Logger } from "../../src/telemetry/log.js";

// The transition line's writer (src/telemetry/line-writer.ts) writes what
// pino writes, byte for byte: the same logger writes each line once through
// pino's `info` and once through `infoLine`, into one stream, and the two
// strings (hence their UTF-8 bytes) must be equal. The clock is frozen, so
// the time field is the same in both.

function capture(options: Parameters<typeof createLogger>[0] = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", ...options }, { write: (s) => lines.push(s) });
  return { logger, lines };
}

/** Both ways, the same logger: [pino's line, the writer's line, whether the writer wrote it]. */
function both(logger: Logger, lines: string[], fields: Record<string, unknown>, msg: string) {
  lines.length = 0;
  logger.info(fields, msg);
  const fast = infoLine(logger, fields, msg);
  return { pino: lines[0], ours: lines[1], fast, count: lines.length };
}

// Strings a hostile user can put in a JID or a resource, and then some: quotes,
// backslashes, control characters, lone surrogates, U+2028, long ones.
const hostile = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      "\\",
      "\u0000",
      "\n",
      "\u001f",
      "\u007f",
      "\u2028",
      "\ud800",
      "\udfff",
      "a",
      "é",
      "😀",
      "/",
      "@",
    ),
    maxLength: 30,
  }),
  fc.string({ unit: "grapheme", minLength: 90, maxLength: 130 }),
  fc.string({ unit: "binary", minLength: 95, maxLength: 110 }),
);
const jid = fc
  .tuple(hostile, hostile, hostile)
  .map(([local, domain, resource]) => `${local}@${domain}/${resource}`);
const scalar = fc.oneof(
  hostile,
  jid,
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21),
  fc.boolean(),
  fc.constant(undefined),
);
const key = fc.oneof(
  fc.constantFrom("user", "to", "from", "session", "jid", "presence", "cause", "trace", "pos"),
  fc.constantFrom("secret", "password", "token", "stanza", "msg", "level", "time", "name"),
  hostile.filter((k) => k !== "__proto__" && k !== "err"),
);

describe("infoLine", () => {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-02T03:00:00.123Z"));
  });
  afterAll(() => vi.useRealTimers());

  it("writes the transition line as pino does, for any JIDs, and takes its own path", () => {
    const { logger, lines } = capture();
    fc.assert(
      fc.property(
        jid,
        jid,
        fc.constantFrom("available", "unavailable"),
        hostile,
        (user, to, presence, cause) => {
          const fields = {
            user,
            presence,
            cause,
            trace: "0d8f6c1e-3b1a-4f8e-9a0b-1c2d3e4f5a6b",
            to,
          };
          const r = both(logger, lines, fields, "session transition");
          expect(r.count).toBe(2);
          expect(r.ours).toBe(r.pino);
          expect(r.fast).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("writes any flat fields as pino does: secrets censored, JIDs pseudonymised, children's bindings", () => {
    const view = pseudonymiser();
    fc.assert(
      fc.property(
        fc.dictionary(key, scalar, { maxKeys: 8 }),
        hostile,
        fc.boolean(),
        fc.option(fc.dictionary(hostile, hostile, { maxKeys: 3, noNullPrototype: true }), {
          nil: undefined,
        }),
        (fields, msg, pseudonymise, bindings) => {
          const base = capture(pseudonymise ? { jids: view } : {});
          const logger = bindings ? base.logger.child(bindings) : base.logger;
          const r = both(logger, base.lines, fields, msg);
          expect(r.ours).toBe(r.pino);
          expect(r.fast).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("leaves to pino what it must write itself, with the same bytes", () => {
    const { logger, lines } = capture();
    for (const fields of [
      { err: "refused" },
      { user: "a@b/c", nested: { secret: "s3cret", x: [1, 2] } },
      { n: 10n as unknown },
      { when: new Date(0) },
    ]) {
      const r = both(logger, lines, fields as Record<string, unknown>, "x");
      expect(r.fast).toBe(false);
      expect(r.ours).toBe(r.pino);
    }
    expect(lines.join("")).not.toContain("s3cret");
  });

  it("writes nothing when info is off, and pino's own loggers go through pino", () => {
    const quiet = capture({ level: "warn" });
    expect(infoLine(quiet.logger, { user: "a@b/c" }, "session transition")).toBe(false);
    expect(quiet.lines).toEqual([]);
    quiet.logger.level = "info";
    expect(infoLine(quiet.logger, { user: "a@b/c" }, "session transition")).toBe(true);
    expect(JSON.parse(quiet.lines[0] ?? "{}")).toMatchObject({ user: "a@b/c", level: 30 });
  });

  it("escapes a string as pino 10 does on this Node (lib/tools.js)", () => {
    // Lone surrogates and U+2028 stay raw before Node 25; control characters and long strings go to JSON.stringify.
    const major = Number(process.versions.node.split(".")[0]);
    expect(asString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(asString("a\u0001b")).toBe('"a\\u0001b"');
    expect(asString("x".repeat(101))).toBe(JSON.stringify("x".repeat(101)));
    if (major < 25) expect(asString("\ud800")).toBe('"\ud800"');
  });
});
