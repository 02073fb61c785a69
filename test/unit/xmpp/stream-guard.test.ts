import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { heapAfterGc } from "../../support/heap.js";
import { wireReader } from "../../support/wire.js";

// What the component reads off its socket (src/xmpp/stream-guard.ts), through
// the real @xmpp/component read path.

const NON_ASCII = "jürgen.ŝtelo@lócalhost/телефон-😀";

describe("UTF-8 split across reads", () => {
  it("a non-ASCII JID survives a split at every byte boundary, byte-exact", () => {
    const stanza = Buffer.from(`<presence from='${NON_ASCII}' to='presence.localhost'/>`);
    for (let cut = 1; cut < stanza.length; cut++) {
      const wire = wireReader();
      wire.write(stanza.subarray(0, cut));
      wire.write(stanza.subarray(cut));
      expect(wire.stanzas.map((s) => s.attrs.from)).toEqual([NON_ASCII]);
    }
  });

  it("survives any chunking of many stanzas (property)", () => {
    const names = fc.stringMatching(/^[a-zà-ÿа-я😀ŝ.]{1,12}$/u);
    fc.assert(
      fc.property(
        fc.array(names, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 50 }),
        (locals, sizes) => {
          const jids = locals.map((l, i) => `${l}@lócalhost/r${i}`);
          const bytes = Buffer.from(
            jids.map((j) => `<presence from='${j}' to='presence.localhost'/>`).join(""),
          );
          const wire = wireReader();
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const size = sizes[i % sizes.length] ?? 1;
            wire.write(bytes.subarray(at, at + size));
            at += size;
          }
          expect(wire.stanzas.map((s) => s.attrs.from)).toEqual(jids);
        },
      ),
    );
  });
});

describe("text between stanzas", () => {
  it("is not kept: whitespace keepalives on a long-lived stream cost no memory (heap)", () => {
    // The library's parser appends the stream's own text to the stream's
    // root element, which lives as long as the connection: each piece a
    // slice of its socket read, keeping the whole read alive.
    const wire = wireReader();
    const reads = 100;
    const before = heapAfterGc();
    for (let i = 0; i < reads; i++) {
      wire.write(
        `<presence from='u${i}@localhost/r' to='presence.localhost'/>${" ".repeat(40_000)}`,
      );
    }
    expect(wire.stanzas.length).toBe(reads);
    wire.stanzas.length = 0;
    // 100 reads of 40 KB are 4 MB.
    expect(heapAfterGc() - before).toBeLessThan(2_000_000);
  }, 30_000);
});

describe("oversized and deeply nested stanzas", () => {
  const limits = { maxBytes: 1_000, maxDepth: 8, maxPendingBytes: 10_000 };

  it("refuses a stanza over the size limit, and parses the next one", () => {
    const wire = wireReader(limits);
    wire.write(`<presence from='big@localhost/r'><status>${"x".repeat(2_000)}</status></presence>`);
    wire.write("<presence from='ok@localhost/r'/>");
    expect(wire.refused).toEqual([
      { name: "presence", from: "big@localhost/r", reason: "larger than 1000 bytes" },
    ]);
    expect(wire.stanzas.map((s) => s.attrs.from)).toEqual(["ok@localhost/r"]);
  });

  it("counts bytes, not characters", () => {
    const wire = wireReader(limits);
    // 400 characters of 3 bytes each: 1,200 bytes.
    wire.write(`<presence from='big@localhost/r'><status>${"€".repeat(400)}</status></presence>`);
    expect(wire.refused).toHaveLength(1);
  });

  it("refuses a stanza nested deeper than the limit, and parses the next one", () => {
    const wire = wireReader(limits);
    const deep = `${"<x>".repeat(50)}${"</x>".repeat(50)}`;
    wire.write(`<presence from='deep@localhost/r'>${deep}</presence>`);
    wire.write("<presence from='ok@localhost/r'/>");
    expect(wire.refused.map((r) => r.reason)).toEqual(["nested deeper than 8 elements"]);
    expect(wire.stanzas.map((s) => s.attrs.from)).toEqual(["ok@localhost/r"]);
  });

  it("keeps nothing of a refused stanza: memory stays bounded over many", () => {
    const wire = wireReader(limits);
    const big = `<message from='m@localhost/r'><body>${"y".repeat(5_000)}</body></message>`;
    for (let i = 0; i < 200; i++) wire.write(big);
    expect(wire.refused).toHaveLength(200);
    const parser = (wire.entity as unknown as { parser: { root: unknown; cursor: unknown } })
      .parser;
    expect(parser.cursor).toBe(parser.root);
    expect((parser.root as { children: unknown[] }).children).toHaveLength(0);
  });

  it("reports a server that sends more than maxPendingBytes without ending a stanza", () => {
    const wire = wireReader(limits);
    wire.write(`<presence from='a@localhost/r' junk='${"z".repeat(20_000)}`);
    expect(wire.overflows).toHaveLength(1);
    expect(wire.stanzas).toEqual([]);
  });
});

describe("addresses the library cannot read", () => {
  it("refuses a stanza whose from or to @xmpp/jid rejects, instead of crashing the process", () => {
    // Regression: @xmpp/middleware threw "Invalid domain." from the socket's
    // data handler for <presence from='u@/r'/>, an uncaught exception.
    const wire = wireReader();
    wire.write(
      "<message from='u@/r'/><iq type='result' id='1' to='@'/><message from='ok@localhost/r'/>",
    );
    expect(wire.refused.map((r) => r.reason)).toEqual([
      "the XMPP library could not read it: Invalid domain.",
      "the XMPP library could not read it: Invalid domain.",
    ]);
    expect(wire.stanzas.map((s) => s.attrs.from)).toEqual(["ok@localhost/r"]);
  });

  it("hands presences over without the library's JID parsing: the router checks them", () => {
    const wire = wireReader();
    wire.write("<presence from='u@/r'/><presence to='@'/><presence from='ok@localhost/r'/>");
    expect(wire.refused).toEqual([]);
    expect(wire.stanzas.map((s) => s.attrs.from)).toEqual(["u@/r", undefined, "ok@localhost/r"]);
  });

  it("hands IQ requests over without the library's parsing or answer: the dispatch answers them", () => {
    const wire = wireReader();
    wire.write("<iq type='get' id='1' to='@' from='u@/r'><ping xmlns='urn:xmpp:ping'/></iq>");
    expect(wire.refused).toEqual([]);
    expect(wire.errors).toEqual([]);
    expect(wire.stanzas.map((s) => s.attrs.id)).toEqual(["1"]);
  });
});
