import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { pseudonymiser } from "../../../src/protocol/pseudonym.js";
import { createLogger } from "../../../src/telemetry/log.js";

// What leaves the process in a log line, read back as an operator's tools
// would: the real pino JSON.

function capture(options: Parameters<typeof createLogger>[0]) {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: createLogger({ level: "debug", ...options }, stream), text: () => text };
}

const JIDS = ["alice@example.com/phone", "world@example.com", "mallory@evil.example/x"];

describe("log lines", () => {
  it("never carry a secret, a password or a token, at any depth", () => {
    const { logger, text } = capture({});
    logger.info(
      { secret: "s3cret", nested: { password: "pw", deeper: { token: "t0k" } } },
      "hello",
    );
    expect(text()).not.toMatch(/s3cret|"pw"|t0k/);
    expect(JSON.parse(text()).nested.deeper.token).toBe("[redacted]");
  });

  it("censor secrets inside arrays, also in a child's lines, and leave the logged object as it was", () => {
    const { logger, text } = capture({});
    const logged = {
      list: [{ a: 1 }, { password: "pw-in-array" }],
      deep: { a: { b: { secret: "d4" } } },
    };
    logger.child({ server: "prosody" }).info(logged, "hello");
    expect(text()).not.toMatch(/pw-in-array|"d4"/);
    expect(JSON.parse(text()).list[1].password).toBe("[redacted]");
    expect(logged.list[1]).toEqual({ password: "pw-in-array" });
    expect(logged.deep.a.b.secret).toBe("d4");
  });

  it("with log.redact_jids, carry pseudonyms instead of JIDs and no stanza excerpt", () => {
    const { logger, text } = capture({ jids: pseudonymiser() });
    const [user, to, from] = JIDS;
    logger.warn(
      { user, to, from, session: user, stanza: `<presence from='${from}'/>`, context: { user } },
      "something happened",
    );
    const line = JSON.parse(text());
    for (const jid of JIDS) expect(text()).not.toContain(jid.split("@")[0]);
    expect(line.user).toMatch(/^u-[0-9a-f]{10}@example\.com\/r-[0-9a-f]{6}$/);
    expect(line.session).toBe(line.user);
    expect(line.context.user).toBe(line.user);
    expect(line.stanza).toBe("[redacted stanza]");
    expect(line.msg).toBe("something happened");
  });

  it("without it, keep JIDs as given (the default)", () => {
    const { logger, text } = capture({});
    logger.info({ user: JIDS[0] }, "x");
    expect(JSON.parse(text()).user).toBe(JIDS[0]);
  });
});
