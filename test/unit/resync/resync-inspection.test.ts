import { describe, expect, it } from "vitest";
import type { AnyActorRef, InspectionEvent } from "xstate";
import { settle } from "../../support/memory-link.js";
import { available } from "../pipeline/setup.js";
import { resyncPipeline } from "./pipeline.js";

// `start --inspect` hands XState's inspection observer to the pipeline too:
// the resync machine's actor must report to it as the supervised actors do,
// so the Inspector shows it next to them.

describe("the resync actor in the inspector", () => {
  it("registers as `resync` and reports each state it goes through", async () => {
    const events: InspectionEvent[] = [];
    const { server, clock, service } = resyncPipeline({
      inspect: { next: (e) => events.push(e) },
    });
    server.liveSessions.add("u@localhost/r");
    server.connect();
    server.deliver(available("u@localhost/r"));
    server.drop();
    server.connect();
    clock.increment(1_000);
    await settle();

    const resync = events.filter((e) => (e.actorRef as AnyActorRef).id === "resync");
    expect(resync.find((e) => e.type === "@xstate.actor")).toBeDefined();
    const values = resync.flatMap((e) =>
      e.type === "@xstate.snapshot" ? [JSON.stringify(Reflect.get(e.snapshot, "value"))] : [],
    );
    expect(new Set(values)).toEqual(
      new Set([
        '"idle"',
        '{"reconnecting":{"replay":"awaitingAdvertisement","settle":"awaitingOnline"}}',
        '{"reconnecting":{"replay":"closed","settle":"awaitingQuiet"}}',
        '{"settling":"pinging"}',
      ]),
    );
    expect(values.at(-1)).toBe('"idle"');
    service.close();
  });
});
