import type { Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { Secret } from "../../../src/config/redacted.js";
import { FROZEN } from "../../../src/outbox/snapshot-pages.js";
import { payloadPseudonym } from "../../../src/protocol/pseudonym.js";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "../pipeline/setup.js";
import { iq, NS_SNAPSHOT, snapshotRequest, WORLD_FULL } from "./setup.js";

const NS_RSM = "http://jabber.org/protocol/rsm";
const STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The service with the snapshot on (unless `snapshot: false`), online, `n` sessions of localhost online. */
async function scene(n: number, options: Parameters<typeof setup>[0] = {}) {
  const t = setup({ ...options, notify: { snapshot: true, ...options.notify } });
  t.server.connect();
  for (let i = 0; i < n; i++) t.server.deliver(available(`u${i}@localhost/r`));
  await settle();
  /** Asks, and returns the component's answer to it. */
  const ask = async (text: string): Promise<Element> => {
    const before = t.server.sent.length;
    t.server.deliver(text);
    await settle(3);
    const reply = t.server.sent.slice(before).find((s) => s.name === "iq");
    if (!reply) throw new Error(`no answer to ${text}`);
    return reply;
  };
  // The notifications' args (resync signals, which have none, left out).
  const notified = () => t.notified().filter((args) => args !== undefined);
  return { ...t, ask, notified };
}

const page = (reply: Element) => {
  const snapshot = reply.getChild("snapshot", NS_SNAPSHOT);
  const set = snapshot?.getChild("set", NS_RSM);
  return {
    position: Number(snapshot?.attrs.position),
    users: snapshot?.getChildren("session").map((s) => s.attrs.user) ?? [],
    first: set?.getChild("first"),
    last: set?.getChildText("last") ?? undefined,
    count: Number(set?.getChildText("count")),
  };
};

const condition = (reply: Element) => {
  const error = reply.getChild("error");
  const names = error?.getChildElements().map((c) => c.name) ?? [];
  return {
    type: error?.attrs.type,
    condition: names.find((n) => n !== "text"),
    text: error?.getChildText("text", STANZAS),
  };
};

describe("the snapshot IQ (PROTOCOL.md)", () => {
  it("pages the domain's sessions with RSM, at one position, frozen while notifications go on", async () => {
    const t = await scene(5);
    const first = await t.ask(iq(WORLD_FULL, snapshotRequest("<max>2</max>")));
    expect(first.attrs).toMatchObject({
      type: "result",
      id: "q1",
      from: "presence.localhost",
      to: WORLD_FULL,
    });
    const p1 = page(first);
    expect(p1.users).toEqual(["u0@localhost/r", "u1@localhost/r"]);
    expect(p1.count).toBe(5);
    expect(p1.first?.attrs.index).toBe("0");
    // Mid-paging: one goes, one comes. The snapshot does not move; the notifications carry later positions.
    t.server.deliver(unavailable("u3@localhost/r"));
    t.server.deliver(available("u9@localhost/r"));
    await settle();
    const later = t.notified().slice(-2);
    expect(later.map((a) => a.pos > p1.position)).toEqual([true, true]);
    const rest: string[] = [];
    let after = p1.last;
    for (let i = 0; i < 3 && p1.users.length + rest.length < p1.count; i++) {
      const p = page(
        await t.ask(
          iq(WORLD_FULL, snapshotRequest(`<max>2</max><after>${after}</after>`), `q${i + 2}`),
        ),
      );
      expect(p.position).toBe(p1.position);
      rest.push(...(p.users as string[]));
      after = p.last;
    }
    expect([...p1.users, ...rest]).toEqual([0, 1, 2, 3, 4].map((i) => `u${i}@localhost/r`));
    // The last page read, the snapshot is given up: its cursor is unknown now.
    expect(t.service.outbox.snapshot?.pages.frozen).toBe(0);
  });

  it("gives the position of the last notification that entered, and every notification a position past it", async () => {
    const t = await scene(2);
    const positions = t.notified().map((a) => a.pos);
    const p = page(await t.ask(iq(WORLD_FULL, snapshotRequest())));
    expect(p.position).toBe(Math.max(...positions));
    expect(p.users).toHaveLength(2);
  });

  it("counts without freezing when max is 0 (XEP-0059 2.7), and caps a huge max", async () => {
    const t = await scene(3);
    const counted = page(await t.ask(iq(WORLD_FULL, snapshotRequest("<max>0</max>"))));
    expect(counted).toMatchObject({ count: 3, users: [] });
    expect(counted.first).toBeUndefined();
    expect(t.service.outbox.snapshot?.pages.frozen).toBe(0);
    const all = page(
      await t.ask(iq(WORLD_FULL, snapshotRequest("<max>99999999999999999999</max>"))),
    );
    expect(all.users).toHaveLength(3);
  });

  it("shows each session as the notifications do: pseudonymised when [pseudonyms] is on", async () => {
    const key = "0123456789abcdef0123456789abcdef";
    const t = await scene(1, { pseudonyms: { key: new Secret(key) } });
    const p = page(await t.ask(iq(WORLD_FULL, snapshotRequest())));
    expect(p.users).toEqual([payloadPseudonym(key)("u0@localhost/r")]);
    expect(t.notified()[0]?.user).toBe(p.users[0]);
  });

  it("is refused with forbidden (auth) to anyone but the domain's server user", async () => {
    const t = await scene(1);
    for (const from of [
      "u0@localhost/r",
      "world@example.org/x",
      "wOrld@evil.example/x",
      "localhost",
    ]) {
      const reply = await t.ask(iq(from, snapshotRequest()));
      expect(reply.attrs.type).toBe("error");
      expect(condition(reply)).toMatchObject({ type: "auth", condition: "forbidden" });
    }
    // Canonical comparison: the server user's JID in another spelling is the server user.
    const ok = await t.ask(iq("WORLD@LocalHost/Backend", snapshotRequest()));
    expect(ok.attrs.type).toBe("result");
    expect(t.service.counters.get("iq_refused")).toBe(4);
  });

  it("answers malformed requests bad-request (modify), paging backwards feature-not-implemented", async () => {
    const t = await scene(1);
    const cases: [string, string][] = [
      [snapshotRequest("<max>-1</max>"), "bad-request"],
      [snapshotRequest("<max>ten</max>"), "bad-request"],
      [snapshotRequest("<max>1</max><max>2</max>"), "bad-request"],
      [snapshotRequest("<after/>"), "bad-request"],
      [snapshotRequest("<other/>"), "bad-request"],
      [`<snapshot xmlns='${NS_SNAPSHOT}'><x/></snapshot>`, "bad-request"],
      [snapshotRequest("<before/>"), "feature-not-implemented"],
      [snapshotRequest("<index>3</index>"), "feature-not-implemented"],
    ];
    for (const [payload, expected] of cases) {
      expect(condition(await t.ask(iq(WORLD_FULL, payload))).condition, payload).toBe(expected);
    }
    const twoPayloads = await t.ask(iq(WORLD_FULL, `${snapshotRequest()}${snapshotRequest()}`));
    expect(condition(twoPayloads)).toMatchObject({ type: "modify", condition: "bad-request" });
  });

  it("answers an unknown or expired cursor item-not-found, so the consumer starts over", async () => {
    const t = await scene(3);
    const p = page(await t.ask(iq(WORLD_FULL, snapshotRequest("<max>1</max>"))));
    expect(
      condition(await t.ask(iq(WORLD_FULL, snapshotRequest("<after>nope</after>")))).condition,
    ).toBe("item-not-found");
    const forged = `${p.last?.slice(0, -1)}9`;
    expect(
      condition(await t.ask(iq(WORLD_FULL, snapshotRequest(`<after>${forged}</after>`)))).condition,
    ).toBe("item-not-found");
    // Idle for the expiry: given up (on the injected clock).
    t.clock.increment(FROZEN.idleMs);
    await settle();
    expect(t.service.outbox.snapshot?.pages.frozen).toBe(0);
    const expired = await t.ask(iq(WORLD_FULL, snapshotRequest(`<after>${p.last}</after>`)));
    expect(condition(expired)).toMatchObject({ type: "cancel", condition: "item-not-found" });
  });

  it("keeps each server user's snapshots apart: another domain's cursor is unknown", async () => {
    const t = await scene(0);
    t.server.deliver(available("a@localhost/r"));
    t.server.deliver(available("b@localhost/r"));
    t.server.deliver(available("c@example.test/r"));
    await settle();
    const local = page(await t.ask(iq(WORLD_FULL, snapshotRequest("<max>1</max>"))));
    const other = await t.ask(
      iq("world@example.test/x", snapshotRequest(`<after>${local.last}</after>`)),
    );
    expect(condition(other).condition).toBe("item-not-found");
    const own = page(await t.ask(iq("world@example.test/x", snapshotRequest())));
    expect(own.users).toEqual(["c@example.test/r"]);
  });

  it("keeps at most two snapshots per server user and freezes at most one a second after a burst", async () => {
    const t = await scene(3);
    const cursors: string[] = [];
    for (let i = 0; i < FROZEN.burst; i++) {
      cursors.push(
        page(await t.ask(iq(WORLD_FULL, snapshotRequest("<max>1</max>"), `f${i}`))).last ?? "",
      );
    }
    expect(t.service.outbox.snapshot?.pages.frozen).toBe(FROZEN.perUser);
    // The least recently read was given up for the newest.
    expect(
      condition(await t.ask(iq(WORLD_FULL, snapshotRequest(`<after>${cursors[0]}</after>`))))
        .condition,
    ).toBe("item-not-found");
    const tooSoon = await t.ask(iq(WORLD_FULL, snapshotRequest("<max>1</max>"), "f9"));
    expect(condition(tooSoon)).toMatchObject({ type: "wait", condition: "resource-constraint" });
    t.clock.increment(1_000);
    expect((await t.ask(iq(WORLD_FULL, snapshotRequest("<max>1</max>"), "f10"))).attrs.type).toBe(
      "result",
    );
  });

  it("is service-unavailable while notify.snapshot is off, and the notifications carry no position", async () => {
    const t = await scene(1, { notify: { snapshot: false } });
    const reply = await t.ask(iq(WORLD_FULL, snapshotRequest()));
    expect(condition(reply)).toMatchObject({ type: "cancel", condition: "service-unavailable" });
    expect(t.notified()[0]).toEqual({ user: "u0@localhost/r", presence: "available" });
    expect(t.service.outbox.snapshot).toBeUndefined();
  });
});

describe("IQ requests to the component (RFC 6120 8.2.3)", () => {
  const disco = "<query xmlns='http://jabber.org/protocol/disco#info'/>";
  const features = (reply: Element) =>
    reply
      .getChild("query", "http://jabber.org/protocol/disco#info")
      ?.getChildren("feature")
      .map((f) => f.attrs.var);

  it("answers disco#info with the snapshot feature only when it is on (XEP-0030, XEP-0059 7)", async () => {
    const on = await scene(0);
    const reply = await on.ask(iq("anyone@example.org/x", disco));
    expect(reply.attrs.type).toBe("result");
    expect(reply.getChild("query")?.getChild("identity")?.attrs).toMatchObject({
      category: "component",
      type: "presence",
    });
    expect(features(reply)).toEqual([
      "http://jabber.org/protocol/disco#info",
      "urn:xmpp:ping",
      NS_SNAPSHOT,
      NS_RSM,
    ]);
    const off = await scene(0, { notify: { snapshot: false } });
    expect(features(await off.ask(iq("anyone@example.org/x", disco)))).toEqual([
      "http://jabber.org/protocol/disco#info",
      "urn:xmpp:ping",
    ]);
    const node = await off.ask(
      iq("a@example.org/x", "<query xmlns='http://jabber.org/protocol/disco#info' node='n'/>"),
    );
    expect(condition(node).condition).toBe("item-not-found");
  });

  it("answers pings, and anything else service-unavailable, each request exactly once", async () => {
    const t = await scene(0, { notify: { snapshot: false } });
    const before = t.server.sent.length;
    t.server.deliver(iq("a@example.org/x", "<ping xmlns='urn:xmpp:ping'/>", "p1"));
    t.server.deliver(iq("a@example.org/x", "<vcard xmlns='vcard-temp'/>", "p2"));
    t.server.deliver(iq("a@example.org/x", "<ping xmlns='urn:xmpp:ping'/>", "p3", "set"));
    t.server.deliver(
      "<iq type='get' id='p4' from='a@example.org/x' to='someone@presence.localhost'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    t.server.deliver(iq("a@example.org/x", "", "p5"));
    await settle();
    const replies = t.server.sent.slice(before).filter((s) => s.name === "iq");
    expect(replies.map((r) => [r.attrs.id, r.attrs.type, condition(r).condition])).toEqual([
      ["p1", "result", undefined],
      ["p2", "error", "service-unavailable"],
      ["p3", "error", "service-unavailable"],
      ["p4", "error", "service-unavailable"],
      ["p5", "error", "bad-request"],
    ]);
  });

  it("never answers an IQ result or error, nor a request it could not address", async () => {
    const t = await scene(0);
    const before = t.server.sent.length;
    t.server.deliver("<iq type='result' id='x' from='a@example.org/x' to='presence.localhost'/>");
    t.server.deliver("<iq type='error' id='y' from='a@example.org/x' to='presence.localhost'/>");
    t.server.deliver(iq("u@/r", "<ping xmlns='urn:xmpp:ping'/>"));
    t.server.deliver(
      "<iq type='get' to='presence.localhost' from='a@example.org/x'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    await settle();
    expect(t.server.sent.slice(before).filter((s) => s.name === "iq")).toEqual([]);
  });
});
