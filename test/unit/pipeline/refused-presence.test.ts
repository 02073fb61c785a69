import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { wireReader } from "../../support/wire.js";
import { ADVERTISEMENT, gone, online, stamped } from "./resync-setup.js";
import { available, setup } from "./setup.js";

// A presence the stream guard will not build (too deep, too large) was still
// broadcast by the server: the session's availability changed. Found by the
// chaos test: a user whose presence was nested deeper than the guard reads
// stayed offline in the server user's view while the server had it online.

const LIMITS = { maxBytes: 4_096, maxDepth: 16, maxPendingBytes: 64 * 1024 };

function wired() {
  const t = setup();
  // Refusals reach the pipeline in stream order, between the stanzas, as
  // ComponentLink hands them over.
  const wire = wireReader(LIMITS, (r) => t.server.emit("refused", r));
  wire.entity.on("stanza", (el) => t.server.emit("stanza", el));
  const feed = (text: string) => wire.write(Buffer.from(text));
  t.server.connect();
  return { ...t, feed, wire };
}

const deep = (n: number) => `${"<x>".repeat(n)}${"</x>".repeat(n)}`;

describe("a presence too big or too deep to read", () => {
  it("still counts for the session's availability (regression: the session stayed offline in the server user's view)", async () => {
    const t = wired();
    t.feed(
      `<presence from="u@localhost/r" to="presence.localhost"><status>${deep(40)}</status></presence>`,
    );
    await settle();
    expect(t.notified()).toEqual([{ user: "u@localhost/r", presence: "available" }]);
    t.feed(
      `<presence type="unavailable" from="u@localhost/r" to="presence.localhost"><status>${"y".repeat(10_000)}</status></presence>`,
    );
    await settle();
    expect(t.notified().at(-1)).toEqual({ user: "u@localhost/r", presence: "unavailable" });
    expect(t.service.counters.get("stanzas_refused")).toBe(2);
  });

  it("is still refused as a presence when its own attributes are not a session's", async () => {
    const t = wired();
    t.feed(`<presence from="not a jid" to="presence.localhost">${deep(40)}</presence>`);
    t.feed(
      `<presence type="subscribe" from="u@localhost/r" to="presence.localhost">${deep(40)}</presence>`,
    );
    await settle();
    expect(t.notified()).toEqual([]);
    expect(t.service.counters.get("presence_rejected")).toBe(1);
    expect(t.service.counters.get("presence_ignored")).toBe(1);
  });
});

describe("in the server's replay", () => {
  it("a replayed presence too deep to read still confirms its session (regression, chaos seeds 2 and 2026: on Prosody such a live session was reported gone at every reconnect)", async () => {
    const t = setup();
    await online(t, "deep@localhost/r", "ok@localhost/r", "left@localhost/x");
    t.server.emit("connecting");
    t.server.deliver(ADVERTISEMENT);
    t.server.deliver(stamped("ok@localhost/r"));
    // Prosody replays the stored presence, <delay/> and all: the guard refuses it.
    t.server.emit("refused", {
      name: "presence",
      from: "deep@localhost/r",
      to: "presence.localhost",
      reason: "nested deeper than 32 elements",
    });
    t.server.online = true;
    t.server.emit("online");
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual(["left@localhost/x"]);
  });

  it("outside the replay, a refused presence is a live one and confirms nothing by replay", async () => {
    const t = setup();
    await online(t, "deep@localhost/r", "left@localhost/x");
    t.server.emit("connecting");
    t.server.deliver(ADVERTISEMENT);
    t.server.deliver(stamped("left@localhost/x"));
    t.server.online = true;
    t.server.emit("online");
    t.server.deliver(available("other@localhost/o")); // the replay is over
    t.server.emit("refused", {
      name: "presence",
      type: "unavailable",
      from: "deep@localhost/r",
      to: "presence.localhost",
      reason: "larger than 262144 bytes",
    });
    t.clock.increment(1_000);
    await settle();
    expect(gone(t)).toEqual(["deep@localhost/r"]);
  });
});
