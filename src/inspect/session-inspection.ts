import type { AnyActorRef, InspectionEvent, Observer } from "xstate";
import { sessionMachine } from "../machines/session.js";
import { decode, type SessionCode, snapshotOf } from "../machines/session-table.js";
import type { SessionObserver } from "../sessions/session-registry.js";

/**
 * Sessions in the inspector. They are not live actors (a million sessions
 * are a million table codes, ARCHITECTURE.md), so this tells the inspector
 * what XState would have told it had each been one: an actor registration
 * the first time a full JID is seen, with the session machine's definition,
 * then for every event the session takes, the event and the snapshot it led
 * to. The Inspector then shows one `session` actor per full JID moving
 * through the real machine's states.
 *
 * The events go through the same `inspect` observer as the live actors'
 * (`@statelyai/inspect` turns them into its wire format), so they look the
 * same on the wire: `name` is the full JID (as a live actor's name is its
 * id), `sessionId` is `session:` + the full JID.
 *
 * Like the registry, it forgets a session when it stops being available, so
 * its memory follows the sessions online; a session that comes back is
 * registered again, in the state the registry gives it (`offline`).
 */

/** The `sessionId` a session's inspection events carry. */
export const sessionIdOf = (jid: string): string => `session:${jid}`;

/** The few fields of an actor ref `@statelyai/inspect` reads. */
function sessionRef(jid: string, code: SessionCode): AnyActorRef {
  const snapshot = snapshotOf(code, jid);
  const ref = {
    id: jid,
    sessionId: sessionIdOf(jid),
    logic: sessionMachine,
    _parent: undefined,
    getSnapshot: () => snapshot,
  };
  return ref as unknown as AnyActorRef;
}

export function sessionInspection(inspect: Observer<InspectionEvent>): SessionObserver {
  const registered = new Set<string>();
  return (jid, event, before, after) => {
    const next = inspect.next?.bind(inspect);
    if (next === undefined) return;
    const rootId = sessionIdOf(jid);
    if (!registered.has(jid)) {
      registered.add(jid);
      next({ type: "@xstate.actor", actorRef: sessionRef(jid, before), rootId });
    }
    const actorRef = sessionRef(jid, after);
    next({ type: "@xstate.event", actorRef, event, sourceRef: undefined, rootId });
    next({ type: "@xstate.snapshot", actorRef, event, snapshot: actorRef.getSnapshot(), rootId });
    if (decode(after).presence !== "available") registered.delete(jid);
  };
}
