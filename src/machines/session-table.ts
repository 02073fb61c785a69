import { type AnyStateNode, createActor, type StateValue, transition } from "xstate";
import {
  type SessionChange,
  type SessionEvent,
  type SessionSnapshot,
  type SessionState,
  SHOWS,
  sessionMachine,
  sessionStateOf,
  showOf,
  UNAVAILABLE_CAUSES,
} from "./session.js";

/**
 * `sessionMachine` compiled to a table, so the registry can hold a session as
 * one small integer (a V8 Smi in a Map: ~0.1 KB with its key, against ~4 KB
 * for a live actor) and still follow the machine exactly.
 *
 * Nothing here restates the semantics. At module load every state of the
 * machine (every combination of its atomic states) is given a code, every
 * class of event gets one representative, and xstate's pure `transition` is
 * asked what each (state, event) pair does. `step` only looks the answer up.
 * The event classes are the event fields the machine's guards and emitted
 * records read (type, show, whether a delay stamp is present, unavailable
 * cause); status, priority and the stamp's value never change the outcome,
 * which the equivalence property test checks with random values.
 */

/** A session's state as an index into `STATE_VALUES`. */
export type SessionCode = number;

export interface StepResult {
  readonly code: SessionCode;
  /** The change this step made, if any; `jid` is the caller's to add. */
  readonly transition: Readonly<SessionChange> | undefined;
}

/** Every state value of a compound or parallel node (cartesian product over parallel regions). */
function stateValuesOf(node: AnyStateNode): StateValue[] {
  const children = Object.values(node.states).filter((child) => child.type !== "history");
  if (node.type === "parallel") {
    let product: Record<string, StateValue>[] = [{}];
    for (const region of children) {
      const regionValues = valuesInside(region);
      product = product.flatMap((partial) =>
        regionValues.map((value) => ({ ...partial, [region.key]: value })),
      );
    }
    return product;
  }
  return children.flatMap((child) =>
    valuesInside(child).map((value) =>
      child.type === "atomic" || child.type === "final" ? child.key : { [child.key]: value },
    ),
  );
}

/** The values a child contributes: its own key for a leaf, its sub-values otherwise. */
function valuesInside(node: AnyStateNode): StateValue[] {
  return node.type === "atomic" || node.type === "final" ? [node.key] : stateValuesOf(node);
}

/** Key order of a snapshot's value follows entry order; compare canonically. */
function canonical(value: StateValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key] as StateValue)}`).join(",")}}`;
}

/** Every state of `sessionMachine`; a session's code is an index into it. */
export const STATE_VALUES: readonly StateValue[] = Object.freeze(
  stateValuesOf(sessionMachine.root),
);

const codeByValue = new Map(STATE_VALUES.map((value, code) => [canonical(value), code]));

/** The code of a state value of `sessionMachine`. */
export function encode(value: StateValue): SessionCode {
  const code = codeByValue.get(canonical(value));
  if (code === undefined) {
    throw new Error(`Not a state of the session machine: ${JSON.stringify(value)}`);
  }
  return code;
}

/** The initial state ("never seen"): what an absent registry entry means. */
export const INITIAL_CODE: SessionCode = encode(
  sessionMachine.resolveState({ value: "offline", context: { jid: "" } }).value,
);
// Catch an edit that renames or reorders the initial state without this file.
if (INITIAL_CODE !== encode(sessionMachine.config.initial as StateValue)) {
  throw new Error("session-table: INITIAL_CODE is not the machine's initial state");
}

const STATES: readonly SessionState[] = STATE_VALUES.map((value) =>
  Object.freeze(sessionStateOf(value)),
);

/** A code read as presence, show and confirmation. */
export function decode(code: SessionCode): SessionState {
  const state = STATES[code];
  if (state === undefined) throw new RangeError(`No session state ${code}`);
  return state;
}

/** A snapshot of `sessionMachine` in the state `code`, for `jid`. */
export function snapshotOf(code: SessionCode, jid: string): SessionSnapshot {
  const value = STATE_VALUES[code];
  if (value === undefined) throw new RangeError(`No session state ${code}`);
  return sessionMachine.resolveState({ value, context: { jid } });
}

/**
 * A started live actor of `sessionMachine` in the state `code`, for
 * inspection (Stately inspector, `actor.on("transition", ...)`). It does not
 * write back to whoever holds the code.
 */
export function actorOf(code: SessionCode, jid: string) {
  const snapshot = sessionMachine.getPersistedSnapshot(snapshotOf(code, jid));
  return createActor(sessionMachine, { snapshot, input: { jid } }).start();
}

/** One representative per event class, indexed by `eventClassOf`. */
export const EVENT_CLASSES: readonly SessionEvent[] = Object.freeze([
  ...SHOWS.flatMap((show): SessionEvent[] => {
    const live: SessionEvent =
      show === "online" ? { type: "presence.available" } : { type: "presence.available", show };
    return [live, { ...live, delay: "1970-01-01T00:00:00Z" }];
  }),
  ...UNAVAILABLE_CAUSES.map((cause): SessionEvent => ({ type: "presence.unavailable", cause })),
  { type: "liveness.ok" },
  { type: "liveness.failed" },
  { type: "resync.begin" },
  { type: "resync.lost" },
]);

const AVAILABLE_CLASSES = SHOWS.length * 2;
const FIXED_CLASSES = {
  "liveness.ok": AVAILABLE_CLASSES + UNAVAILABLE_CAUSES.length,
  "liveness.failed": AVAILABLE_CLASSES + UNAVAILABLE_CAUSES.length + 1,
  "resync.begin": AVAILABLE_CLASSES + UNAVAILABLE_CAUSES.length + 2,
  "resync.lost": AVAILABLE_CLASSES + UNAVAILABLE_CAUSES.length + 3,
} as const;

/** The index in `EVENT_CLASSES` of the class `event` belongs to. */
export function eventClassOf(event: SessionEvent): number {
  switch (event.type) {
    case "presence.available":
      return SHOWS.indexOf(showOf(event)) * 2 + (event.delay === undefined ? 0 : 1);
    case "presence.unavailable": {
      const cause = UNAVAILABLE_CAUSES.indexOf(event.cause);
      if (cause < 0) {
        throw new TypeError(`Unknown unavailable cause: ${String(event.cause)}`);
      }
      return AVAILABLE_CLASSES + cause;
    }
    default:
      return FIXED_CLASSES[event.type];
  }
}

EVENT_CLASSES.forEach((event, index) => {
  if (eventClassOf(event) !== index) {
    throw new Error(`session-table: event class ${index} is misnumbered`);
  }
});

/** What the machine does for one (state, event class) pair. */
function derive(code: SessionCode, event: SessionEvent): StepResult {
  const [next, actions] = transition(sessionMachine, snapshotOf(code, ""), event);
  const emitted: SessionChange[] = [];
  for (const action of actions) {
    // Typed as the setup() action name; at run time builtins report their own type.
    if ((action.type as string) !== "xstate.emit") continue;
    const {
      type: _type,
      jid: _jid,
      ...change
    } = (
      action.params as unknown as {
        event: SessionChange & { type: string; jid: string };
      }
    ).event;
    emitted.push(Object.freeze(change));
  }
  if (emitted.length > 1) {
    throw new Error(
      `session-table: ${JSON.stringify(event)} in state ${code} emits ${emitted.length} records; the table holds one`,
    );
  }
  return Object.freeze({ code: encode(next.value), transition: emitted[0] });
}

const TABLE: readonly StepResult[] = STATE_VALUES.flatMap((_, code) =>
  EVENT_CLASSES.map((event) => derive(code, event)),
);

/**
 * The state `code` moves to on `event`, and the change it records. Pure and
 * allocation-free: results are shared, frozen table entries.
 */
export function step(code: SessionCode, event: SessionEvent): StepResult {
  const result = TABLE[code * EVENT_CLASSES.length + eventClassOf(event)];
  if (result === undefined) throw new RangeError(`No session state ${code}`);
  return result;
}
