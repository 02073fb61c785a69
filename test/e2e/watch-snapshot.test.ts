import type { Client } from "@xmpp/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PresenceClient } from "../../src/client/types.js";
import { createPresenceClient } from "../../src/client.js";
import { COMPONENT, PASSWORD, Scenario } from "../harness/scenario.js";
import { WatchProcess } from "../harness/watch-process.js";
import { stopQuietly, waitFor } from "../harness/xmpp-users.js";

// Issue #17 items 4 and 5 end to end, with the daemon's snapshot feature on
// (`[notify] snapshot = true`; NEEDS THE DAEMON SIDE of #17: a daemon
// without it refuses the key and these tests fail at its start). The
// consumer, `watch` in its own process and the library in this one, is
// killed and restarted while 50 users come and go; after each restart its
// view equals the truth.

const USERS = Array.from({ length: 50 }, (_, i) => `u${String(i + 1).padStart(2, "0")}@localhost`);

describe("the consumer with snapshots on prosody", () => {
  const scene = new Scenario("prosody");
  const watches: WatchProcess[] = [];
  /** The truth: every session online now, by full JID. */
  const online = new Map<string, Client>();
  let round = 0;
  const service = () => `xmpp://127.0.0.1:${scene.server.c2sPort}`;

  const watch = (jid = "world@localhost", extra = ["--page-size", "7"]) => {
    const w = new WatchProcess(
      { service: service(), jid, component: COMPONENT, password: PASSWORD },
      extra,
    );
    watches.push(w.start());
    return w;
  };
  const truth = () => [...online.keys()].sort();

  /** `steps` random comings and goings; some leave without a goodbye. */
  async function churn(steps: number): Promise<void> {
    for (let i = 0; i < steps; i++) {
      const user = USERS[Math.floor(Math.random() * USERS.length)] as string;
      const session = [...online.keys()].find((j) => j.startsWith(`${user}/`));
      if (session === undefined) {
        const jid = `${user}/r${++round}`;
        online.set(jid, await scene.online(user, `r${round}`));
      } else {
        const client = online.get(session);
        online.delete(session);
        if (i % 5 === 0) client?.socket?.destroy();
        else await stopQuietly(client);
      }
    }
  }

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", "outsider@localhost", ...USERS] });
    await scene.daemon(
      scene.config([
        'server_user = "world"',
        'include = ["*"]',
        "snapshot = true",
        'sequence = "session"',
      ]),
    );
  });
  afterEach(async () => {
    for (const w of watches.splice(0)) {
      await w.stop();
      w.cleanup();
    }
  });
  afterAll(async () => {
    for (const client of online.values()) await stopQuietly(client);
    await scene.stop();
  });

  it("watch starts with a complete snapshot of the sessions already online", async () => {
    await churn(20);
    const w = watch();
    await w.waitForLines((l) => l.length >= 1, "the snapshot line");
    expect(w.lines[0]).toMatchObject({ type: "snapshot", trigger: "connect", complete: true });
    expect(typeof w.lines[0]?.position).toBe("number");
    await w.waitForView(truth());
  });

  it("watch killed (-9) and restarted while 50 users come and go: its view equals the truth after each restart", async () => {
    let w = watch();
    for (let restart = 0; restart < 3; restart++) {
      const busy = churn(40);
      await new Promise((r) => setTimeout(r, 150 * (restart + 1)));
      await w.stop("SIGKILL");
      w = watch(); // its snapshot is paged while the users keep coming and going
      await busy;
      await w.waitForView(truth(), 20_000);
      expect(w.snapshots()).toHaveLength(1);
      expect(w.snapshots()[0]).toMatchObject({ complete: true });
    }
  });

  it("the library in this process: online() equals the truth after the churn and after a new client", async () => {
    const make = (): PresenceClient =>
      createPresenceClient({
        service: service(),
        jid: "world@localhost",
        password: PASSWORD,
        component: COMPONENT,
        sasl: "PLAIN",
        pageSize: 5,
      });
    const same = (c: PresenceClient) =>
      JSON.stringify([...c.online()].sort()) === JSON.stringify(truth());
    let client = make();
    client.start();
    const busy = churn(40);
    await busy;
    await waitFor(() => same(client), 20_000, "the library's view to equal the truth");
    expect(client.health()).toMatchObject({
      connected: true,
      phase: "live",
      snapshotSupported: true,
    });
    await client.stop();
    await churn(20); // while no consumer runs
    client = make();
    client.start();
    await waitFor(() => same(client), 20_000, "a new client's view to equal the truth");
    expect(client.health().snapshots).toBe(1);
    await client.stop();
  });

  it("a user who is not a server user gets no snapshot (forbidden), and watch says so", async () => {
    const w = watch("outsider@localhost", []);
    await w.waitForLines(() => w.stderr.includes("forbidden"), "the refusal on stderr");
    expect(w.stderr).toMatch(
      /presence-notify watch: the daemon answered the snapshot request with forbidden: notifications only on this connection/,
    );
  });
});
