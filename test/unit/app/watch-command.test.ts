import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { watchCommand } from "../../../src/app/watch-command.js";
import { settle } from "../../support/memory-link.js";
import { MemoryPresencePeer, type PeerOptions } from "../../support/memory-presence-peer.js";

// `presence-notify watch`: its flags, its refusals (a sentence and an exit
// code), and its JSON lines against the in-memory peer: the current view is
// always the last snapshot line plus the change lines after it.

const FLAGS = [
  "--service",
  "xmpp://127.0.0.1:1",
  "--jid",
  "world@localhost",
  "--component",
  "presence.localhost",
];
const FILES: Record<string, string> = { "/pw": "pw\n", "/empty": "\n" };

function watch(args: string[], peerOptions: PeerOptions = {}, env: Record<string, string> = {}) {
  const peer = new MemoryPresencePeer(peerOptions);
  const out: string[] = [];
  const err: string[] = [];
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const clock = new SimulatedClock();
  const exit = watchCommand(args, {
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stopped,
    clock,
    readFile: (path) => {
      const text = FILES[path];
      if (text === undefined) throw Object.assign(new Error("nope"), { code: "ENOENT" });
      return text;
    },
    connector: () => peer.connector,
  });
  const lines = () =>
    out
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  /** What a reader of the lines believes: the last snapshot plus the changes after it. */
  const view = () => {
    const all = lines();
    const last = all.map((l) => l.type).lastIndexOf("snapshot");
    const seen = new Set<string>(all[last]?.sessions ?? []);
    for (const l of all.slice(last + 1)) {
      if (l.presence === "available") seen.add(l.user);
      else seen.delete(l.user);
    }
    return [...seen].sort();
  };
  const flush = async () => {
    for (let i = 0; i < 100; i++) {
      await settle();
      if (!peer.connected) clock.increment(60_000);
      else if (!peer.answer() && !peer.deliver()) return;
    }
  };
  return { peer, out, err, exit, stop, lines, view, flush, clock };
}

describe("watch's flags", () => {
  it.each([
    [
      ["--jid", "world@localhost"],
      /^presence-notify watch: --service is required \(or set PRESENCE_NOTIFY_WATCH_SERVICE\)\n/,
    ],
    [
      [...FLAGS],
      /^presence-notify watch: give --password-file FILE or set PRESENCE_NOTIFY_WATCH_PASSWORD\n/,
    ],
    [
      [...FLAGS, "--password-file", "/pw", "--bogus"],
      /^presence-notify watch: Unknown option '--bogus'/,
    ],
    [
      [...FLAGS, "--password-file", "/pw", "--page-size", "many"],
      /--page-size takes a whole number \(got "many"\)/,
    ],
    [
      [...FLAGS, "--password-file", "/pw", "--from", "server"],
      /--from takes component or user \(got "server"\)/,
    ],
    [
      ["--service", "xmpp://h", "--jid", "world", "--component", "p", "--password-file", "/pw"],
      /jid must be the server user's bare JID/,
    ],
  ])("%j: exit 64 with a sentence and the usage", async (args, message) => {
    const t = watch(args);
    expect(await t.exit).toBe(64);
    expect(t.err.join("")).toMatch(message);
    expect(t.err.join("")).toMatch(/usage: presence-notify watch/);
    expect(t.out).toEqual([]);
  });

  it.each([
    ["/missing", "presence-notify watch: --password-file /missing cannot be read: no such file\n"],
    [
      "/empty",
      "presence-notify watch: --password-file /empty is empty: it should hold the password\n",
    ],
  ])("a password file %s that will not do: exit 78 with a sentence", async (file, sentence) => {
    const t = watch([...FLAGS, "--password-file", file]);
    expect(await t.exit).toBe(78);
    expect(t.err.join("")).toBe(sentence);
  });

  it("takes the service, JID, component and password from the environment", async () => {
    const t = watch(
      [],
      {},
      {
        PRESENCE_NOTIFY_WATCH_SERVICE: "xmpp://127.0.0.1:1",
        PRESENCE_NOTIFY_WATCH_JID: "world@localhost",
        PRESENCE_NOTIFY_WATCH_COMPONENT: "presence.localhost",
        PRESENCE_NOTIFY_WATCH_PASSWORD: "pw",
      },
    );
    await t.flush();
    expect(t.peer.logins).toBe(1);
    t.stop();
    expect(await t.exit).toBe(0);
  });

  it("exits 77 when the server refuses the password", async () => {
    const t = watch([...FLAGS, "--password-file", "/pw"]);
    t.peer.nextLogin = "refuse";
    expect(await t.exit).toBe(77);
    expect(t.err.join("")).toMatch(/presence-notify watch: not-authorized\n$/);
  });
});

describe("watch's lines", () => {
  it("writes the snapshot, then each change, then a new snapshot after a resync", async () => {
    const t = watch([...FLAGS, "--password-file", "/pw"]);
    t.peer.transition("a@localhost/r", "available");
    t.peer.pending.length = 0; // online before the watch started
    await t.flush();
    t.peer.transition("b@localhost/r", "available");
    t.peer.transition("a@localhost/r", "unavailable");
    await t.flush();
    t.peer.resync("takeover");
    await t.flush();
    const lines = t.lines();
    expect(lines.map(({ at: _at, trace: _trace, ...l }) => l)).toEqual([
      {
        type: "snapshot",
        trigger: "connect",
        complete: true,
        position: 1001,
        epoch: "e1",
        sessions: ["a@localhost/r"],
      },
      { type: "change", user: "b@localhost/r", presence: "available", pos: 1002 },
      { type: "change", user: "a@localhost/r", presence: "unavailable", pos: 1003 },
      {
        type: "snapshot",
        trigger: "resync",
        reason: "takeover",
        complete: true,
        position: 1003,
        epoch: "e1",
        sessions: ["b@localhost/r"],
      },
    ]);
    for (const l of lines) expect(l.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(t.view()).toEqual(["b@localhost/r"]);
    expect(t.err.join("")).toMatch(
      /^presence-notify watch: logged in as world@localhost\/presence-client-/,
    );
    t.stop();
    expect(await t.exit).toBe(0);
  });

  it("against a daemon without snapshots, starts with an incomplete (empty) snapshot line", async () => {
    const t = watch([...FLAGS, "--password-file", "/pw"], { disco: "error" });
    await t.flush();
    t.peer.transition("a@localhost/r", "available");
    await t.flush();
    expect(t.lines().map(({ at: _at, trace: _trace, ...l }) => l)).toEqual([
      { type: "snapshot", trigger: "connect", complete: false, position: null, sessions: [] },
      { type: "change", user: "a@localhost/r", presence: "available" },
    ]);
    t.stop();
    await t.exit;
  });

  it("keeps the reader's view equal to the daemon's through a reconnect", async () => {
    const t = watch([...FLAGS, "--password-file", "/pw"]);
    t.peer.transition("a@localhost/r", "available");
    await t.flush();
    t.peer.drop();
    t.peer.transition("a@localhost/r", "unavailable");
    t.peer.transition("c@localhost/r", "available");
    t.peer.pending.length = 0; // lost while it was away
    await t.flush();
    expect(t.view()).toEqual(["c@localhost/r"]);
    expect(t.err.join("")).toMatch(/not connected \(test dropped the connection\); retrying/);
    t.stop();
    await t.exit;
  });
});
