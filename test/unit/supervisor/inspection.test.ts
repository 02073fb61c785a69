import { describe, expect, it } from "vitest";
import { type AnyActorRef, type InspectionEvent, SimulatedClock } from "xstate";
import { dynamicSupervisorLogic } from "../../../src/otp/dynamic-supervisor.js";
import { supervisorLogic } from "../../../src/otp/supervisor.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { worker, workers } from "./children.js";

// `start --inspect` hands XState's inspection observer to startSupervisor;
// every actor of the tree, at every level and after a restart, must report
// to it.

function startTree(inspect?: { next: (e: InspectionEvent) => void }) {
  const clock = new SimulatedClock();
  const sup = startSupervisor({
    flags: { strategy: "one_for_one", intensity: 10 },
    children: [
      ...workers(["config"], []),
      {
        id: "xmpp",
        logic: supervisorLogic({ strategy: "one_for_one", intensity: 10 }, workers(["conn"], [])),
      },
      { id: "sessions", logic: dynamicSupervisorLogic({}, { logic: worker }) },
    ],
    clock,
    ...(inspect ? { inspect } : {}),
  });
  sup.pool("sessions")?.startChild("alice@x", { name: "alice" });
  return sup;
}

const registered = (events: InspectionEvent[]) =>
  events.flatMap((e) => (e.type === "@xstate.actor" ? [(e.actorRef as AnyActorRef).id] : []));

describe("inspection of a supervision tree", () => {
  it("registers the root and every child at every level, static and dynamic", () => {
    const events: InspectionEvent[] = [];
    startTree({ next: (e) => events.push(e) });
    expect(registered(events)).toEqual(
      expect.arrayContaining(["root", "config", "xmpp", "conn", "sessions", "alice@x"]),
    );
  });

  it("sees a restarted child's new actor, and the events sent to it", () => {
    const events: InspectionEvent[] = [];
    const sup = startTree({ next: (e) => events.push(e) });
    const before = sup.whereis("conn");
    sup.send("conn", { type: "crash" });
    const after = sup.whereis("conn");
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const conns = events.filter(
      (e) => e.type === "@xstate.actor" && (e.actorRef as AnyActorRef).id === "conn",
    );
    expect(conns.map((e) => e.actorRef.sessionId)).toEqual([before?.sessionId, after?.sessionId]);
    expect(
      events.some(
        (e) => e.type === "@xstate.event" && e.actorRef === before && e.event.type === "crash",
      ),
    ).toBe(true);
  });
});
