import { describe, expect, it } from "vitest";
import { type AnyActorRef, createActor, SimulatedClock } from "xstate";
import { createService } from "../../../src/app/service.js";
import { LINGER_MS } from "../../../src/machines/notifier.js";
import { testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";
import { advertisement, available } from "./setup.js";

// The notifier's `deliver` invocation stays alive while mail keeps coming
// (src/machines/notifier.ts): one invocation for a steady stream, the
// machine `sending` meanwhile and `idle` once the mail stopped for
// LINGER_MS; what the inspector sees, on the injected clock.

function scene() {
  const clock = new SimulatedClock();
  const server = new MemoryServer(() => clock.now());
  const { logger } = logSink("warn");
  const service = createService({ config: () => testConfig({}), link: server, clock, logger });
  service.start();
  const invocations: AnyActorRef[] = [];
  const notifier = createActor(service.notifier, {
    clock,
    inspect: (ev) => {
      const ref = ev.actorRef as AnyActorRef;
      if (ev.type === "@xstate.actor" && ref.src === "deliver") invocations.push(ref);
    },
  }).start();
  server.connect();
  server.deliver(advertisement("localhost"));
  const state = () => JSON.stringify(notifier.getSnapshot().value);
  return { clock, server, notifier, invocations, state };
}

describe("the notifier's live delivery loop", () => {
  it("delivers a steady stream in one invocation, sending meanwhile, idle after a quiet linger", async () => {
    const t = scene();
    for (let i = 0; i < 30; i++) {
      t.server.deliver(available(`u${i}@localhost/r`));
      t.clock.increment(LINGER_MS / 10);
      await settle();
    }
    expect(t.server.messages()).toHaveLength(30);
    expect(t.invocations).toHaveLength(1);
    expect(t.state()).toBe('{"running":"sending"}');
    // Nothing for one linger period, then another: done, idle.
    t.clock.increment(LINGER_MS);
    await settle();
    t.clock.increment(LINGER_MS);
    await settle();
    expect(t.state()).toBe('{"running":"idle"}');
    // The next mail starts a new invocation.
    t.server.deliver(available("late@localhost/r"));
    await settle();
    expect(t.server.messages()).toHaveLength(31);
    expect(t.invocations).toHaveLength(2);
    t.notifier.stop();
  });

  it("waits for the link again when it drops under a live loop, and sends on its return", async () => {
    const t = scene();
    t.server.deliver(available("a@localhost/r"));
    await settle();
    t.server.drop();
    t.server.deliver(available("b@localhost/r"));
    await settle();
    // The live loop heard the mail but the link is down: nothing sent, nothing lost.
    expect(t.server.messages()).toHaveLength(1);
    t.server.connect();
    await settle();
    expect(t.server.messages()).toHaveLength(2);
    t.notifier.stop();
  });

  it("stops its loop at shutdown and drains without lingering", async () => {
    const t = scene();
    t.server.deliver(available("a@localhost/r"));
    await settle();
    expect(t.state()).toBe('{"running":"sending"}');
    t.notifier.send({ type: "shutdown" });
    await settle();
    // Without a second of simulated time: the drain does not wait for more mail.
    expect(t.notifier.getSnapshot().status).toBe("done");
    expect(t.server.messages()).toHaveLength(1);
  });
});
