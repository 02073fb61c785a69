import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { createService } from "../../../src/app/service.js";
import { testConfig } from "../../support/config.js";
import { heapAfterGc } from "../../support/heap.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { advertisement } from "./setup.js";

// The parser hands out attribute values as slices of the network chunk they
// came in, and V8 keeps a slice's whole parent string alive. Whatever the
// daemon keeps after a presence (its notification in the mailbox, in the
// ring of recent sends a bounce is matched against, the session maps, the
// sequence numbers) must hold no such slice, or each kept notification can
// pin a whole socket read: up to 64 KB, for each of the last 10,000 sent.

describe("network chunks", () => {
  it("are not kept alive by the sessions and notifications their presences made (heap)", async () => {
    const clock = new SimulatedClock();
    const server = new MemoryServer(() => clock.now());
    const { logger } = logSink("warn");
    const service = createService({ config: () => testConfig({}), link: server, clock, logger });
    service.start();
    createActor(service.notifier).start();
    server.connect();
    server.deliver(advertisement("localhost"));
    await settle();
    // As the socket's reads reach the parser: one chunk each, a presence with
    // 30 KB of status text (the stream's own text between stanzas is the
    // stream guard's to drop: test/unit/xmpp/stream-guard.test.ts).
    const parser = new xml.Parser();
    parser.on("element", (el: Element) => server.emit("stanza", el));
    parser.write(
      `<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams">`,
    );
    const chunks = 200;
    const before = heapAfterGc();
    for (let i = 0; i < chunks; i++) {
      // Built from pieces, so each chunk is a string of its own, as a socket read is.
      const status = "x".repeat(30_000 + i);
      parser.write(
        `<presence from="user.${i}@localhost/resource-${i}" to="presence.localhost"><status>${status}</status></presence>`,
      );
      await settle(5);
    }
    await settle();
    expect(server.messages().length).toBe(chunks);
    expect(service.intake.registry.size).toBe(chunks);
    const kept = heapAfterGc() - before;
    // 200 sessions and their notifications are a few hundred KB; the chunks, 6 MB.
    expect(kept).toBeLessThan(3_000_000);
  }, 30_000);
});
