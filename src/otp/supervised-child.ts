import { type Logger, pino } from "pino";
import {
  type AnyActorLogic,
  type AnyActorRef,
  createActor,
  type InspectionEvent,
  type Observer,
  type Snapshot,
  type Subscription,
} from "xstate";
import { type Clock, systemClock } from "./clock.js";
import type { ChildType, ResolvedChildSpec, RestartType } from "./supervisor-spec.js";

/** The logger of a child started without one (tests, the runtime used on its own). */
const silent: Logger = pino({ level: "silent" });

/**
 * One supervised child: at most one live XState actor at a time, whose end is
 * turned into an event for its supervisor. Both the static and the dynamic
 * supervisor hold their children as records of this shape.
 */

/**
 * OTP's `shutdown` exit reason. A child may throw it (or fail with it) to end
 * on purpose: `transient` children are then not restarted, and no crash is logged.
 */
export class ShutdownExit extends Error {
  readonly _tag = "ShutdownExit";
  constructor(message = "shutdown") {
    super(message);
    this.name = "ShutdownExit";
  }
}

export const shutdownExit: ShutdownExit = new ShutdownExit();

/**
 * True for `ShutdownExit` and for OTP's `{shutdown, Term}`: an error that
 * carries `exit: "shutdown"` (a supervisor that gave up or failed to start).
 */
export const isShutdownExit = (reason: unknown): boolean =>
  typeof reason === "object" &&
  reason !== null &&
  (Reflect.get(reason, "_tag") === "ShutdownExit" || Reflect.get(reason, "exit") === "shutdown");

/** The reason recorded for a child stopped with `actorRef.stop()` (OTP's `killed`). */
export class ChildKilled extends Error {
  readonly _tag = "ChildKilled";
  constructor(readonly child: string) {
    super(`child "${child}" was stopped before it finished`);
    this.name = "ChildKilled";
  }
}

export type Exit =
  | { kind: "normal" }
  | { kind: "shutdown"; reason: unknown }
  /** `atStart`: the actor was already in error when its `start()` returned (OTP's `start_error`). */
  | { kind: "crash"; reason: unknown; atStart?: boolean };

/** Sent by a child's subscription to its supervisor; `generation` tells a restarted child from its predecessor. */
export interface ChildExited {
  type: "supervisor.child.exited";
  id: string;
  generation: number;
  exit: Exit;
}

/** What a supervisor hands down, as input, to a child that is itself a supervisor. */
export interface SupervisionContext {
  name: string;
  clock: Clock;
  logger: Logger;
  /** XState's inspection observer (`start --inspect`); absent, no child is inspected at all. */
  inspect?: Observer<InspectionEvent>;
}

export type NodeStatus = "running" | "restarting" | "stopped" | "failed";

/** Read-only, plain-data view of one node of a live supervision tree. */
export interface SupervisionTree {
  readonly id: string;
  readonly type: ChildType;
  readonly status: NodeStatus;
  readonly restarts: number;
  readonly children?: readonly SupervisionTree[];
}

/** What a running supervisor actor exposes to its parent and to the root handle. */
export interface SupervisionView {
  status(): NodeStatus;
  children(): SupervisionTree[];
  whereis(id: string): AnyActorRef | undefined;
}

const supervisionLogics = new WeakSet<object>();
const views = new WeakMap<AnyActorRef, SupervisionView>();

export const markSupervisionLogic = <T extends AnyActorLogic>(logic: T): T => {
  supervisionLogics.add(logic);
  return logic;
};
export const isSupervisionLogic = (logic: unknown): boolean =>
  typeof logic === "object" && logic !== null && supervisionLogics.has(logic);
export const registerView = (ref: AnyActorRef, view: SupervisionView): void => {
  views.set(ref, view);
};
export const viewOf = (ref: AnyActorRef | undefined): SupervisionView | undefined =>
  ref === undefined ? undefined : views.get(ref);

export interface SupervisedChild {
  readonly spec: ResolvedChildSpec;
  ref: AnyActorRef | undefined;
  status: NodeStatus;
  /** Times this child was started again after its first start. */
  restarts: number;
  /** Consecutive restarts, for backoff; reset once the child stays up long enough. */
  attempts: number;
  startedAt: number;
  generation: number;
  /** Token of the pending shutdown-timeout or backoff timer, if any. */
  timer: number | undefined;
  /** Set when its shutdown timeout ran out and the supervisor stopped it (OTP's `exit(Child, kill)`). */
  forced: boolean;
  subscription: Subscription | undefined;
}

export const newChild = (spec: ResolvedChildSpec): SupervisedChild => ({
  spec,
  ref: undefined,
  status: "stopped",
  restarts: 0,
  attempts: 0,
  startedAt: 0,
  generation: 0,
  timer: undefined,
  forced: false,
  subscription: undefined,
});

/** Why a child's actor was in error the moment it started (OTP: its `init` did not return `ok`). */
export interface InitFailure {
  reason: unknown;
}

/**
 * Creates and starts the child's actor on the supervisor's clock. Its end,
 * however it happens, reaches `self` once, as a `ChildExited` event (a crash
 * during `start()` marked `atStart`). Returns the reason when the actor was
 * already in error as `start()` returned (its first actions threw); with
 * `initFailure: "return"` the child is then forgotten and no event is sent, as
 * OTP's `start_child` returns `{error, Reason}`. Anything that fails later,
 * such as a rejected promise, is a crash like any other.
 */
export function spawn(
  child: SupervisedChild,
  self: AnyActorRef,
  context: SupervisionContext,
  initFailure: "exit" | "return" = "exit",
): InitFailure | undefined {
  const { id, logic } = child.spec;
  const generation = ++child.generation;
  const childInput: unknown = isSupervisionLogic(logic)
    ? ({
        name: `${context.name}/${id}`,
        clock: context.clock,
        logger: context.logger,
        ...(context.inspect ? { inspect: context.inspect } : {}),
      } satisfies SupervisionContext)
    : child.spec.input;
  const { clock, inspect } = context;
  const actor = createActor(logic, {
    id,
    input: childInput,
    clock,
    ...(inspect ? { inspect } : {}),
  });
  let reported = false;
  let starting = true;
  let failedAtStart: InitFailure | undefined;
  const report = (given: Exit) => {
    if (reported) return;
    reported = true;
    const exit: Exit = starting && given.kind === "crash" ? { ...given, atStart: true } : given;
    if (starting && exit.kind !== "normal") {
      failedAtStart = { reason: exit.reason };
      if (initFailure === "return") return;
    }
    self.send({ type: "supervisor.child.exited", id, generation, exit } satisfies ChildExited);
  };
  child.ref = actor;
  child.status = "running";
  child.forced = false;
  child.startedAt = context.clock.now();
  child.subscription = actor.subscribe({
    next: (snapshot) => {
      if (snapshot.status === "done") report({ kind: "normal" });
    },
    error: (reason) =>
      report(isShutdownExit(reason) ? { kind: "shutdown", reason } : { kind: "crash", reason }),
    complete: () => report({ kind: "crash", reason: new ChildKilled(id) }),
  });
  actor.start();
  starting = false;
  if (failedAtStart !== undefined && initFailure === "return") {
    detach(child);
    child.status = "failed";
  }
  return failedAtStart;
}

/** Forgets the child's actor once it has ended. */
export function detach(child: SupervisedChild): void {
  child.subscription?.unsubscribe();
  child.subscription = undefined;
  child.ref = undefined;
}

/**
 * OTP's graceful stop: ask with `{ type: "shutdown" }`, then force with
 * `actorRef.stop()` once `shutdown` ms have passed. `force` is called by the
 * supervisor's timer, so the forced stop happens inside its own transition.
 */
export function requestStop(
  child: SupervisedChild,
  schedule: (ms: number, fn: () => void) => number,
): void {
  const ref = child.ref;
  if (ref === undefined) return;
  const { shutdown } = child.spec;
  if (shutdown === "brutal_kill") {
    ref.stop();
    return;
  }
  ref.send({ type: "shutdown" });
  if (typeof shutdown === "number") {
    child.timer = schedule(shutdown, () => {
      child.timer = undefined;
      if (child.ref !== ref) return;
      child.forced = true;
      ref.stop();
    });
  }
}

/**
 * The stop of a start that failed: it cannot wait out a shutdown timeout, as
 * the start must fail before it returns. Asked to shut down, then forced.
 */
export function stopAtOnce(child: SupervisedChild): void {
  const ref = child.ref;
  if (ref === undefined) return;
  detach(child);
  child.status = "stopped";
  if (child.spec.shutdown !== "brutal_kill") ref.send({ type: "shutdown" });
  if (ref.getSnapshot().status === "active") ref.stop();
}

/**
 * OTP's `shutdown_error`: why a child that was asked to stop did not stop
 * cleanly, or undefined if it did. Forced after its timeout is `"killed"`;
 * a normal or shutdown end, or the expected stop of `brutal_kill`, is clean.
 */
export function stopError(child: SupervisedChild, exit: Exit): unknown {
  if (child.forced) return "killed";
  if (exit.kind === "crash" && !(exit.reason instanceof ChildKilled)) return exit.reason;
  return undefined;
}

/** The tree node of one child, descending into it when it is itself a supervisor. */
export function treeNode(child: SupervisedChild): SupervisionTree {
  const { id, type } = child.spec;
  const node = { id, type, status: child.status, restarts: child.restarts };
  return type === "supervisor" ? { ...node, children: viewOf(child.ref)?.children() ?? [] } : node;
}

/** The current actor of child `id` among `children` or anywhere below them; direct children first. */
export function findChild(
  children: Iterable<SupervisedChild>,
  id: string,
): AnyActorRef | undefined {
  const below: SupervisedChild[] = [];
  for (const child of children) {
    if (child.spec.id === id) return child.ref;
    if (viewOf(child.ref) !== undefined) below.push(child);
  }
  for (const child of below) {
    const found = viewOf(child.ref)?.whereis(id);
    if (found !== undefined) return found;
  }
  return undefined;
}

export interface SupervisionOptions {
  /** Name in logs and in `tree()`. Default: the parent's name + "/" + child id, or the actor id. */
  name?: string;
  /** Default: the parent's clock, else the system clock. */
  clock?: Clock;
  /** Default: the parent's logger, else silent. */
  logger?: Logger;
  /** Default: the parent's, else none. */
  inspect?: Observer<InspectionEvent>;
}

/** Explicit options win; a nested supervisor otherwise inherits what its parent passed as input. */
export const resolveContext = (
  options: SupervisionOptions,
  input: Partial<SupervisionContext> | undefined,
  actorId: string,
): SupervisionContext => {
  const inspect = options.inspect ?? input?.inspect;
  return {
    name: options.name ?? input?.name ?? actorId,
    clock: options.clock ?? input?.clock ?? systemClock,
    logger: options.logger ?? input?.logger ?? silent,
    ...(inspect ? { inspect } : {}),
  };
};

/** OTP restart types: permanent always, transient only after an abnormal exit, temporary never. */
export const shouldRestart = (restart: RestartType, exit: Exit): boolean =>
  restart === "permanent" || (restart === "transient" && exit.kind === "crash");

/** How a supervisor's runtime answers an event: keep going, or end the actor. */
export type Outcome = { status: "done" } | { status: "error"; error: unknown };

type SupervisorSnapshotOf = Snapshot<undefined>;

/**
 * The actor-logic `transition` shared by static and dynamic supervisors: the
 * per-actor runtime takes every event; XState's stop halts it at once.
 */
export function runtimeTransition<E>(
  runtimes: WeakMap<AnyActorRef, { halt(): void; handle(event: E): Outcome | undefined }>,
) {
  return (
    snapshot: SupervisorSnapshotOf,
    event: E,
    scope: { self: AnyActorRef },
  ): SupervisorSnapshotOf => {
    const runtime = runtimes.get(scope.self);
    if (runtime === undefined || snapshot.status !== "active") return snapshot;
    if ((event as { type: string }).type === "xstate.stop") {
      runtime.halt();
      return { status: "stopped", output: undefined, error: undefined };
    }
    const outcome = runtime.handle(event);
    if (outcome?.status === "done") return { status: "done", output: undefined, error: undefined };
    if (outcome?.status === "error")
      return { status: "error", output: undefined, error: outcome.error };
    return snapshot;
  };
}
