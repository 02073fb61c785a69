import { describe, expect, it } from "vitest";
import { InvalidClientOptions, resolveClientOptions } from "../../../src/client/options.js";
import { createPresenceClient } from "../../../src/client.js";

// The client's options are checked when it is made, each mistake a sentence
// naming the option.

const GOOD = {
  service: "xmpp://127.0.0.1:5222",
  jid: "world@example.com",
  password: "secret",
  component: "presence.example.com",
};

describe("createPresenceClient's options", () => {
  it("has defaults a world server can start with", () => {
    const s = resolveClientOptions(GOOD);
    expect(s).toMatchObject({
      bare: "world@example.com",
      local: "world",
      domain: "example.com",
      from: "component",
      pageSize: 500,
      window: 100_000,
      bufferLimit: 1_000_000,
      reconnect: { initial: 1_000, max: 60_000 },
      timeoutMs: 30_000,
      durableSeq: false,
    });
    expect(s.resource).toMatch(/^presence-client-[0-9a-f]{8}$/);
  });

  it.each([
    [{ service: "localhost:5222" }, /^service must be a URL like xmpp:\/\/host:5222/],
    [
      { jid: "world" },
      /^jid must be the server user's bare JID, like world@example.com \(got "world"\)$/,
    ],
    [{ jid: "world@example.com/backend" }, /^jid must be the server user's bare JID/],
    [{ password: "" }, /^password must not be empty$/],
    [{ component: "" }, /^component must be the daemon's component JID/],
    [{ pageSize: 0 }, /^pageSize must be a whole number from 1 to 100000 \(got 0\)$/],
    [
      { reconnect: { initial: 5_000, max: 1_000 } },
      /^reconnect\.max must be a whole number from 5000/,
    ],
    [{ signingKeys: new Map() }, /^signingKeys must hold at least one key/],
    [{ from: "server" as "user" }, /^from must be "component" or "user"/],
  ])("refuses %o with a sentence", (bad, message) => {
    expect(() => createPresenceClient({ ...GOOD, ...bad })).toThrow(InvalidClientOptions);
    expect(() => createPresenceClient({ ...GOOD, ...bad })).toThrow(message);
  });
});
