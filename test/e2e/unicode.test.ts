import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Scenario, SERVERS } from "../harness/scenario.js";
import type { WorldServer } from "../harness/world.js";
import { waitFor } from "../harness/xmpp-users.js";

// Non-ASCII JIDs at volume: multi-byte characters (2, 3 and 4 bytes of
// UTF-8, in the stringprep repertoire both servers apply) in resources, thousands of presences, so the component's TCP reads split
// characters many times. Every notification must carry the JID the server
// bound, byte for byte (the stream guard's UTF-8 decoder; xmpp.js alone
// turned a split character into U+FFFD). Localparts stay ASCII here only
// because xmpp.js's SASL PLAIN encodes with btoa, which refuses them; the
// read path is the same for every part (unit test: stream-guard.test.ts).

const CLIENTS = 20;
const FLIPS = 100; // each client: 100 unavailable/available pairs

describe.each(SERVERS)("%s: non-ASCII JIDs at volume", (kind) => {
  const scene = new Scenario(kind);
  let world: WorldServer;
  const users = Array.from({ length: CLIENTS }, (_, i) => `intl${i}@localhost`);

  beforeAll(async () => {
    await scene.start({ users: ["world@localhost", ...users] });
    world = await scene.world("world");
  });
  afterAll(() => scene.stop());

  it(`keeps every JID byte-exact through ${CLIENTS * FLIPS * 2} presences`, async () => {
    const daemon = await scene.daemon(scene.config(['server_user = "world"']));
    const clients: Client[] = await Promise.all(
      users.map((jid, i) => scene.online(jid, `телефон-𝄞-${i}-ü-€`)),
    );
    await Promise.all(clients.map((c) => world.waitForSession(`${c.jid}`, 1)));
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < FLIPS; i++) {
          await client.send(xml("presence", { type: "unavailable" }));
          await client.send(xml("presence"));
        }
      }),
    );
    const expected = 1 + FLIPS * 2;
    await waitFor(
      () => clients.every((c) => world.about(`${c.jid}`).length >= expected),
      60_000,
      `${expected} notifications per session`,
    );
    const bound = new Set(clients.map((c) => `${c.jid}`));
    for (const jid of bound) expect(jid).toMatch(/^intl\d+@localhost\/телефон-𝄞-\d+-ü-€$/u);
    // Nothing arrived under an altered JID, nothing with a replacement character.
    const strangers = world.received.filter((r) => !bound.has(r.user));
    expect(strangers.map((r) => r.user)).toEqual([]);
    expect(world.received.some((r) => r.user.includes("\uFFFD"))).toBe(false);
    for (const c of clients) expect(world.about(`${c.jid}`)).toHaveLength(expected);
    expect(daemon.logs.filter((l) => l.msg === "presence rejected")).toEqual([]);
    expect(await daemon.stop()).toBe(0);
    for (const c of clients) await c.stop().catch(() => undefined);
  });
});
