import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFullJid } from "../../../src/protocol/jid.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { settle } from "../../support/memory-link.js";
import { wireReader } from "../../support/wire.js";
import { available, setup } from "../pipeline/setup.js";

// Fuzzing the daemon through its real read path: bytes into a real
// @xmpp/component entity with the stream guard, stanzas into the pipeline,
// notifications out to an in-memory server. Whatever comes in, the daemon
// goes on, notifies only about valid sessions, and only its server users.

const LIMITS = { maxBytes: 4_096, maxDepth: 16, maxPendingBytes: 64 * 1024 };

/** A pipeline fed by the wire reader instead of pre-parsed stanzas. */
function wired(options: Parameters<typeof setup>[0] = {}) {
  const t = setup(options);
  // Refusals reach the pipeline in stream order, between the stanzas, as
  // ComponentLink hands them over.
  const wire = wireReader(LIMITS, (r) => t.server.emit("refused", r));
  wire.entity.on("stanza", (el) => t.server.emit("stanza", el));
  const feed = (bytes: Buffer) => wire.write(bytes);
  t.server.connect();
  // The connect burst (advertisements, replay) is over: what follows is
  // whatever anyone routes to the component.
  t.clock.increment(2_000);
  return { ...t, wire, feed };
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/'/g, "&apos;").replace(/</g, "&lt;");

// Text that is hostile as a JID: control characters, forbidden characters,
// empty parts, huge parts, lone surrogates, no resource.
const hostileJid = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    "localhost",
    "@localhost/r",
    "u@/r",
    "u@localhost/",
    "u@localhost",
    "a b@localhost/r",
    "u\u0000@localhost/r",
    "u@localhost/r\u0007",
    'u"@localhost/r',
    `${"x".repeat(1024)}@localhost/r`,
    `u@localhost/${"é".repeat(600)}`,
    "u@lo calhost/r",
    "world@localhost/r",
  ),
);

// Never the server user ("world"): its own sessions are never notified.
const validJid = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/).filter((l) => l !== "world"),
    fc.constantFrom("localhost", "example.test"),
  )
  .map(([local, domain]) => `${local}@${domain}/res`);

const nested = (depth: number) => `${"<x>".repeat(depth)}${"</x>".repeat(depth)}`;

/** One hostile stanza, as text (well-formed XML unless `raw`). */
const hostileStanza = fc.oneof(
  hostileJid.map((from) => `<presence from='${escapeAttr(from)}'/>`),
  fc
    .tuple(hostileJid, fc.constantFrom("unavailable", "probe", "error", "bogus", "subscribe"))
    .map(([from, type]) => `<presence type='${type}' from='${escapeAttr(from)}'/>`),
  fc
    .tuple(validJid, fc.integer({ min: 20, max: 200 }))
    .map(([from, depth]) => `<presence from='${from}'>${nested(depth)}</presence>`),
  fc
    .tuple(validJid, fc.integer({ min: 5_000, max: 20_000 }))
    .map(([from, n]) => `<presence from='${from}' huge='${"a".repeat(n)}'/>`),
  fc
    .tuple(validJid, fc.integer({ min: 5_000, max: 20_000 }))
    .map(([from, n]) => `<presence from='${from}'><status>${"s".repeat(n)}</status></presence>`),
  // A privilege advertisement from a user, and from a foreign server.
  fc.constantFrom(
    "<message from='mallory@localhost/x'><privilege xmlns='urn:xmpp:privilege:2'><perm access='message' type='outgoing'/></privilege></message>",
    "<message from='evil.example'><privilege xmlns='urn:xmpp:privilege:2'><perm access='presence' type='roster'/></privilege></message>",
    "<message type='error' id='nope' from='world@localhost'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    "<message from='mallory@localhost/x'><received xmlns='urn:xmpp:receipts' id='guess'/></message>",
    "<iq type='result' id='guess' from='u@localhost/res'/>",
    "<presence xmlns='wrong:ns' from='u@localhost/res'/>",
    "<message to='world@localhost' from='u@localhost/res'><body>route me</body></message>",
  ),
);

/** A stream of stanzas, valid and hostile mixed, as bytes; invalid UTF-8 included. */
const stream = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: hostileStanza.map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: validJid.map((j) => Buffer.from(`<presence from='${j}'/>`)) },
    {
      weight: 1,
      arbitrary: validJid.map((j) =>
        Buffer.concat([
          Buffer.from(`<presence from='${j}'><status>`),
          Buffer.from([0xff, 0xfe, 0xc3]), // invalid UTF-8
          Buffer.from("</status></presence>"),
        ]),
      ),
    },
  ),
  { maxLength: 40 },
);

function chunks(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? bytes.length;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

describe("hostile input through the real read path", () => {
  it("never throws, never notifies about an invalid JID, and only ever writes to a server user", async () => {
    await fc.assert(
      fc.asyncProperty(
        stream,
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        async (stanzas, sizes) => {
          // notify.domains empty: the hosts that advertised at the connect are served.
          const t = wired();
          const granted = t.service.privileges();
          const bytes = Buffer.concat(stanzas);
          for (const chunk of chunks(bytes, sizes)) t.feed(chunk);
          await settle();
          for (const out of t.server.sent) {
            // Routing safety: a message goes to a configured server user only;
            // nothing is ever sent to a JID taken from the input.
            if (out.name === "message") {
              expect(out.attrs.to).toMatch(/^world@(localhost|example\.test)$/);
              expect(out.attrs.from).toBe("presence.localhost");
              expect(out.getChild("event", NS_FLUX)).toBeDefined();
            } else {
              throw new Error(`unexpected outbound ${out.name}: ${out.toString().slice(0, 200)}`);
            }
          }
          for (const n of t.notified()) expect(parseFullJid(n.user).ok).toBe(true);
          // No advertisement in the stream (a user's, a remote server's) replaced the server's.
          expect(t.service.privileges()).toBe(granted);
          expect(granted?.perms).toEqual({ presence: "managed_entity" });
          expect(t.wire.overflows).toEqual([]);
          t.service.close();
        },
      ),
      { numRuns: 150 },
    );
  }, 30_000);

  it("notifies exactly the valid sessions of a stream, whatever is mixed in", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(validJid, { minLength: 1, maxLength: 10 }),
        fc.array(hostileStanza, { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }),
        async (valid, hostile, sizes) => {
          const t = wired();
          const all = [...hostile, ...valid.map((j) => `<presence from='${j}'/>`)];
          for (const chunk of chunks(Buffer.from(all.join("")), sizes)) t.feed(chunk);
          await settle();
          // A valid session's presence the guard will not build (too deep or
          // too large) still makes it available: the server broadcast it.
          const sessionOf = (stanza: string) =>
            /^<presence from='([^']*)'(?: huge='[^']*')?\s*\/?>/.exec(stanza)?.[1];
          const expected = [
            ...new Set(
              all.map(sessionOf).filter((j): j is string => j !== undefined && valid.includes(j)),
            ),
          ];
          const notifiedAvailable = t
            .notified()
            .filter((n) => n.presence === "available" && valid.includes(n.user))
            .map((n) => n.user);
          expect(notifiedAvailable).toEqual(expected);
          t.service.close();
        },
      ),
      { numRuns: 100 },
    );
  }, 30_000);

  it("reads the same input the same way, whole or split at every byte boundary", async () => {
    await fc.assert(
      fc.asyncProperty(stream, async (stanzas) => {
        const bytes = Buffer.concat(stanzas);
        const outcome = async (sizes: number[]) => {
          const t = wired();
          for (const chunk of chunks(bytes, sizes)) t.feed(chunk);
          await settle();
          t.service.close();
          return {
            notified: t.notified(),
            refused: t.service.counters.get("stanzas_refused"),
            rejected: t.service.counters.get("presence_rejected"),
          };
        };
        const whole = await outcome([Math.max(1, bytes.length)]);
        const byteByByte = await outcome([1]);
        expect(byteByByte).toEqual(whole);
      }),
      { numRuns: 40 },
    );
    // Byte by byte through the real parser: under 1 s alone, over 5 s on a busy machine.
  }, 30_000);

  it("a refused stanza is counted and the log stays small under a flood", async () => {
    const t = wired();
    const big = Buffer.from(`<presence from='u@localhost/r'>${nested(100)}</presence>`);
    for (let i = 0; i < 1_000; i++) t.feed(big);
    await settle();
    expect(t.service.counters.get("stanzas_refused")).toBe(1_000);
    const logged = t.records.filter((r) => r.msg === "stanzas refused");
    // The 1st, 2nd, 4th, ... 512th: ten lines for a thousand refusals.
    expect(logged).toHaveLength(10);
    expect(logged[0]).toMatchObject({
      from: "u@localhost/r",
      reason: expect.stringContaining("nested deeper"),
    });
  });

  it("the log stays small under a flood of distinct hostile reasons, a 200 KB type and a full mailbox", async () => {
    // Logged refusals used to be keyed by a reason that quoted the input: after
    // 1,000 distinct types every new one was logged, each line quoting the
    // whole attribute; a full mailbox logged every refused notification.
    const t = setup({ mailbox: { capacity: 1 } });
    t.server.connect();
    for (let i = 0; i < 3_000; i++) {
      t.server.deliver(`<presence type='bogus-${i}' from='u${i}@localhost/r'/>`);
      t.server.deliver(`<presence type='probe-${i}' from='u${i}@localhost/r'/>`);
    }
    t.server.deliver(`<presence type='${"t".repeat(200_000)}' from='u@localhost/r'/>`);
    // No turn for the notifier to drain in: all but the first are refused.
    for (let i = 0; i < 3_000; i++) t.server.deliver(available(`v${i}@localhost/r`));
    await settle();
    expect(t.service.counters.get("presence_rejected")).toBe(6_001);
    expect(t.service.counters.get("notifications_refused_full")).toBeGreaterThan(2_900);
    const lines = t.records.map((r) => JSON.stringify(r));
    expect(lines.length).toBeLessThan(80);
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThan(1_500);
    const unknown = t.records.filter((r) => r.reason === "unknown presence type");
    expect(unknown[0]).toMatchObject({ from: "u0@localhost/r", excerpt: "bogus-0" });
    const full = t.records.filter((r) => r.event === "presence_notify_error");
    expect(full.length).toBeGreaterThan(0);
    expect(full.length).toBeLessThan(20);
  });

  it("the log stays small when every refused stanza has its own element name", async () => {
    // The refusal's log key used to quote the element name: each new name a new line.
    const t = wired();
    for (let i = 0; i < 2_000; i++) {
      t.feed(Buffer.from(`<p${i} from='u@localhost/r'>${nested(40)}</p${i}>`));
    }
    await settle();
    expect(t.service.counters.get("stanzas_refused")).toBe(2_000);
    const logged = t.records.filter((r) => r.msg === "stanzas refused");
    expect(logged).toHaveLength(11);
    expect(logged[0]).toMatchObject({ excerpt: "p0", reason: expect.stringContaining("nested") });
  });
});
