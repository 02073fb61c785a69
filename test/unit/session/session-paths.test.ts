import { describe, expect, it } from "vitest";
import { type ActorLogic, createActor, type StateValue } from "xstate";
import {
  adjacencyMapToArray,
  getAdjacencyMap,
  getShortestPaths,
  getSimplePaths,
  type StatePath,
  serializeSnapshot,
} from "xstate/graph";
import {
  type SessionEvent,
  type SessionInput,
  type SessionSnapshot,
  type SessionTransitionEvent,
  sessionMachine,
  sessionStateOf,
} from "../../../src/machines/session.js";
import { EVENT_CLASSES, encode, STATE_VALUES } from "../../../src/machines/session-table.js";

/**
 * Model-based tests over the machine's own graph: every state and every
 * (state, event class) edge, replayed on a live actor, must emit a
 * notification exactly when the step crosses available <-> not available.
 */

const input = { jid: "alice@example.com/phone" };
type Path = StatePath<SessionSnapshot, SessionEvent>;

/** Replays a path on a live actor and checks every step's emissions. */
function checkPath(path: Path): void {
  const actor = createActor(sessionMachine, { input });
  let emitted: SessionTransitionEvent[] = [];
  actor.on("transition", (event) => emitted.push(event));
  actor.start();
  for (const { event } of path.steps) {
    if (event.type === ("xstate.init" as string)) continue;
    const before = sessionStateOf(actor.getSnapshot().value);
    emitted = [];
    actor.send(event);
    const after = sessionStateOf(actor.getSnapshot().value);
    const crossed = (before.presence === "available") !== (after.presence === "available");
    const where = `${JSON.stringify(before)} --${JSON.stringify(event)}--> ${JSON.stringify(after)}`;

    const notifications = emitted.filter((record) => record.notify);
    expect(notifications, where).toEqual(
      crossed ? [expect.objectContaining({ from: before.presence, to: after.presence })] : [],
    );
    // Besides notifications, only a show change is recorded.
    const showChanged = crossed === false && before.show !== after.show;
    expect(emitted.length, where).toBe(crossed || showChanged ? 1 : 0);
  }
  expect(encode(actor.getSnapshot().value)).toBe(encode(path.state.value));
  actor.stop();
}

// getAdjacencyMap's ActorLogic parameter has no slot for emitted events; the
// machine is that logic with `SessionTransitionEvent` emitted.
const logic = sessionMachine as unknown as ActorLogic<SessionSnapshot, SessionEvent, SessionInput>;
const adjacency = getAdjacencyMap(logic, { events: EVENT_CLASSES, input });
const edges = adjacencyMapToArray(adjacency);
const shortest = new Map(
  getShortestPaths(sessionMachine, { events: EVENT_CLASSES, input }).map((path) => [
    serializeSnapshot(path.state),
    path,
  ]),
);

describe("the session machine's graph", () => {
  it("reaches exactly the states the compact table encodes", () => {
    const reached = Object.values(adjacency).map((vertex) => encode(vertex.state.value));
    expect(new Set(reached)).toEqual(
      new Set(STATE_VALUES.map((value: StateValue) => encode(value))),
    );
    expect(edges).toHaveLength(STATE_VALUES.length * EVENT_CLASSES.length);
  });

  it.each([...shortest.values()].map((path) => [JSON.stringify(path.state.value), path] as const))(
    "shortest path to %s notifies only on available <-> unavailable",
    (_, path) => checkPath(path),
  );

  it("every edge (shortest path to its source, then its event) notifies only on available <-> unavailable", () => {
    for (const edge of edges) {
      const head = shortest.get(serializeSnapshot(edge.state));
      expect(head, `no path to ${JSON.stringify(edge.state.value)}`).toBeDefined();
      if (head === undefined) continue;
      checkPath({
        state: edge.nextState,
        steps: [...head.steps, { event: edge.event, state: edge.nextState }],
        weight: head.weight + 1,
      });
    }
  });

  it("every simple path over two shows notifies only on available <-> unavailable", () => {
    // All event kinds, two shows: the full alphabet's simple paths are too many to enumerate.
    const events = EVENT_CLASSES.filter(
      (event) =>
        event.type !== "presence.available" || event.show === undefined || event.show === "away",
    );
    const paths = getSimplePaths(sessionMachine, { events, input });
    expect(paths.length).toBeGreaterThan(50);
    for (const path of paths) checkPath(path);
  });
});
