import type { Element } from "@xmpp/xml";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PAGES_IN_FLIGHT } from "../../../src/outbox/snapshot-iq.js";
import { FROZEN, PAGE } from "../../../src/outbox/snapshot-pages.js";
import { parseJid } from "../../../src/protocol/jid.js";
import { settle } from "../../support/memory-link.js";
import { wireReader } from "../../support/wire.js";
import { available, setup } from "../pipeline/setup.js";

// Every IQ input is hostile (SECURITY.md, "The IQ surface"): IQs of any
// shape, from anyone, to the component through its real read path, with the
// snapshot on and sessions to copy (a few thousand for the flood). Whatever comes, the
// daemon goes on, answers each addressable request exactly once with a
// result or an RFC 6120 error of the right type, never a page over the
// bounds, never more frozen copies than the limits allow, and never
// anything to a JID it could not parse.

const NS = "urn:flux:presence:snapshot:0";
const RSM = "http://jabber.org/protocol/rsm";
const ERROR_TYPES: Record<string, string> = {
  "bad-request": "modify",
  forbidden: "auth",
  "service-unavailable": "cancel",
  "item-not-found": "cancel",
  "feature-not-implemented": "cancel",
  "resource-constraint": "wait",
};

function wired(sessions: number) {
  const t = setup({ notify: { snapshot: true }, mailbox: { capacity: 10_000 } });
  const wire = wireReader(undefined, (r) => t.server.emit("refused", r));
  wire.entity.on("stanza", (el: Element) => t.server.emit("stanza", el));
  t.server.connect();
  for (let i = 0; i < sessions; i++) t.server.deliver(available(`u${i}@localhost/r`));
  t.clock.increment(2_000);
  return { ...t, feed: (text: string) => wire.write(text) };
}

const attr = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/'/g, "&apos;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const from = fc.oneof(
  fc.constantFrom(
    "world@localhost/backend",
    "WORLD@localhost/x",
    "world@localhost",
    "world@example.test/x",
    "world@evil.example/x",
    "u1@localhost/r",
    "localhost",
    "u@/r",
    "@localhost",
    "",
  ),
  fc.string({ maxLength: 30 }),
);
const to = fc.constantFrom(
  "presence.localhost",
  "x@presence.localhost",
  "presence.localhost/r",
  "localhost",
  "",
);
const type = fc.constantFrom("get", "get", "get", "set", "result", "error", "bogus", "");
const id = fc.oneof(fc.constantFrom("1", "", "x".repeat(3_000)), fc.string({ maxLength: 12 }));

const number = fc.oneof(
  fc.integer({ min: -5, max: 5_000 }).map(String),
  fc.constantFrom("99999999999999999999999", "1e9", "0x10", " 7 ", "", "NaN", "-0", "1.5"),
  fc.string({ maxLength: 8 }),
);
const cursor = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc
    .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{12}$/), fc.integer({ min: -1, max: 10_000 }))
    .map(([i, n]) => `${i}:${n}`),
  fc.constantFrom("", ":", "a:b", `${"A".repeat(12)}:99999999999`),
);
const rsmChild = fc.oneof(
  number.map((n) => `<max>${attr(n)}</max>`),
  cursor.map((c) => `<after>${attr(c)}</after>`),
  fc.constantFrom(
    "<before/>",
    "<index>2</index>",
    "<max/>",
    "<first/>",
    "<x xmlns='other'/>",
    "<max><x/></max>",
  ),
);
const payload = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(rsmChild, { maxLength: 4 })
      .map((c) => `<snapshot xmlns='${NS}'><set xmlns='${RSM}'>${c.join("")}</set></snapshot>`),
  },
  { weight: 1, arbitrary: fc.constant(`<snapshot xmlns='${NS}'/>`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      `<snapshot xmlns='${NS}'><set xmlns='${RSM}'/><set xmlns='${RSM}'/></snapshot>`,
      `<snapshot xmlns='${NS}'><set xmlns='wrong'/></snapshot>`,
      `<snapshot xmlns='${NS}'>text<set xmlns='${RSM}'><max>3</max></set></snapshot>`,
      `<snapshot xmlns='wrong'/>`,
      `<snapshot xmlns='${NS}'/><snapshot xmlns='${NS}'/>`,
      "<query xmlns='http://jabber.org/protocol/disco#info'/>",
      "<query xmlns='http://jabber.org/protocol/disco#info' node='x'/>",
      "<query xmlns='http://jabber.org/protocol/disco#items'/>",
      "<ping xmlns='urn:xmpp:ping'/>",
      "",
      `<snapshot xmlns='${NS}'>${"<set>".repeat(20)}${"</set>".repeat(20)}</snapshot>`,
    ),
  },
);
const request = fc.record({ from, to, type, id, payload, withId: fc.boolean() }).map((r) => {
  const idAttr = r.withId ? ` id='${attr(r.id)}'` : "";
  const fromAttr = r.from === "" ? "" : ` from='${attr(r.from)}'`;
  return { ...r, text: `<iq type='${r.type}'${idAttr}${fromAttr} to='${r.to}'>${r.payload}</iq>` };
});

/** Whether a reply to `r` can be addressed: a request with an id, from a JID. */
const answerable = (r: { type: string; withId: boolean; from: string }) =>
  !["result", "error"].includes(r.type) && r.withId && r.from !== "" && parseJid(r.from).ok;

describe("the IQ surface, fuzzed (SECURITY.md)", () => {
  it("answers each addressable request once, within the bounds, and goes on", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 40 }), async (requests) => {
        const t = wired(300);
        const before = t.server.sent.length;
        for (const r of requests) t.feed(r.text);
        await settle();
        const replies = t.server.sent.slice(before).filter((s) => s.name === "iq");
        for (const reply of replies) {
          expect(reply.attrs.from).toBe("presence.localhost");
          expect(["result", "error"]).toContain(reply.attrs.type);
          expect(reply.toString().length).toBeLessThan(PAGE.bytes + 4_096);
          const sessions = reply.getChild("snapshot", NS)?.getChildren("session") ?? [];
          expect(sessions.length).toBeLessThanOrEqual(PAGE.max);
          const error = reply.getChild("error");
          if (error) {
            const condition = error.getChildElements().find((c) => c.name !== "text")?.name ?? "";
            expect(ERROR_TYPES[condition], condition).toBe(error.attrs.type);
          }
        }
        // Exactly one reply per addressable request, in order, to its sender
        // with its id; none for the rest.
        const expected = requests.filter(answerable);
        expect(replies.map((r) => [r.attrs.id, r.attrs.to])).toEqual(
          expected.map((r) => [r.id, r.from]),
        );
        // A few thousand sessions copied at most burst-many times in the run.
        expect(t.service.counters.get("snapshots_taken")).toBeLessThanOrEqual(FROZEN.burst * 2);
        expect(t.service.outbox.snapshot?.pages.frozen).toBeLessThanOrEqual(FROZEN.perUser * 2);
        // Still serving: a fresh valid request from the server user gets a page.
        t.clock.increment(10_000);
        const n = t.server.sent.length;
        t.feed(
          `<iq type='get' id='ok' from='world@localhost/b' to='presence.localhost'><snapshot xmlns='${NS}'/></iq>`,
        );
        await settle();
        expect(t.server.sent.slice(n).find((s) => s.attrs.id === "ok")?.attrs.type).toBe("result");
        t.service.close();
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it("bounds a flood of snapshot requests: copies by the rate, pages in flight by the cap", async () => {
    const t = wired(3_000);
    // A slow socket: nothing the daemon sends is written until released.
    const pending: (() => Promise<void>)[] = [];
    const send = t.server.send.bind(t.server);
    t.server.send = (el) =>
      new Promise<void>((resolve) => pending.push(() => send(el).then(resolve)));
    const first = `<snapshot xmlns='${NS}'><set xmlns='${RSM}'><max>1000</max></set></snapshot>`;
    for (let i = 0; i < 1_000; i++) {
      t.feed(
        `<iq type='get' id='f${i}' from='world@localhost/b' to='presence.localhost'>${first}</iq>`,
      );
    }
    await settle();
    expect(t.service.counters.get("snapshots_taken")).toBeLessThanOrEqual(PAGES_IN_FLIGHT);
    expect(t.service.counters.get("snapshots_taken")).toBeLessThanOrEqual(FROZEN.burst);
    expect(t.service.outbox.snapshot?.pages.frozen).toBeLessThanOrEqual(FROZEN.perUser);
    for (const release of pending.splice(0)) await release();
    await settle();
    const replies = t.server.sent.filter((s) => s.name === "iq" && s.attrs.id?.startsWith("f"));
    expect(replies).toHaveLength(1_000);
    const refused = replies.filter((r) => r.getChild("error")?.getChild("resource-constraint"));
    expect(refused.length).toBeGreaterThan(990);
    // A minute later, with no page read, nothing is kept.
    t.clock.increment(FROZEN.idleMs);
    await settle();
    expect(t.service.outbox.snapshot?.pages.frozen).toBe(0);
  }, 60_000);
});
