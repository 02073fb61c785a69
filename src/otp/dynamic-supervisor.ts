import type { ActorLogic, AnyActorRef, Snapshot } from "xstate";
import { backoffAttempt, backoffDelay } from "./backoff.js";
import { recordRestart } from "./restart-intensity.js";
import {
  type ChildExited,
  detach,
  type Exit,
  findChild,
  markSupervisionLogic,
  type NodeStatus,
  newChild,
  type Outcome,
  registerView,
  requestStop,
  resolveContext,
  runtimeTransition,
  type SupervisedChild,
  type SupervisionContext,
  type SupervisionOptions,
  type SupervisionView,
  shouldRestart,
  spawn,
  stopError,
  treeNode,
} from "./supervised-child.js";
import {
  crashReport,
  FailedToStartChild,
  reportCrash,
  reportGiveUp,
  reportShutdownError,
  reportStartError,
  reportTerminated,
  SupervisorGaveUp,
} from "./supervisor-reports.js";
import {
  type BackoffOptions,
  type ChildSpec,
  DuplicateChildId,
  InvalidChildSpec,
  type ResolvedChildSpec,
  type ResolvedFlags,
  resolveChildSpec,
  resolveFlags,
} from "./supervisor-spec.js";
import { createTimers, type TimerFired } from "./supervisor-timers.js";

/**
 * OTP's `simple_one_for_one` (https://www.erlang.org/doc/system/sup_princ.html#simplified-one_for_one-supervisors):
 * many children of one kind, started on demand. They live in a `Map` this
 * supervisor owns rather than in a machine's context, where every spawn would
 * copy the whole children record (0.8 ms a spawn at 5k children).
 *
 * Restart types, intensity and backoff mean what they mean in `supervisor.ts`;
 * the strategy is always one_for_one, and on shutdown all children are asked
 * to stop at once (OTP stops simple_one_for_one children in parallel too).
 */

export type ChildTemplate = Omit<ChildSpec, "id" | "input">;
export interface PoolFlags {
  intensity?: number;
  period?: number;
  backoff?: BackoffOptions;
}

export interface DynamicPool {
  /**
   * Starts child `id` from the template with `input`; returns its actor
   * (undefined if it ended at once and is not restarted). A child that fails
   * in its init is not kept and the pool is unaffected: this throws
   * `FailedToStartChild`, as OTP's `start_child` returns `{error, Reason}`.
   */
  startChild(id: string, input?: unknown): AnyActorRef | undefined;
  /** Asks child `id` to stop (honouring the template's `shutdown`) and forgets it. False if there is no such child. */
  terminateChild(id: string): boolean;
  /** Children held: running, waiting to restart, or stopping. */
  count(): number;
  whereis(id: string): AnyActorRef | undefined;
}

export class SupervisorNotRunning extends Error {
  readonly _tag = "SupervisorNotRunning";
  constructor(readonly supervisor: string) {
    super(`Supervisor "${supervisor}" is stopping or stopped; it starts no more children.`);
    this.name = "SupervisorNotRunning";
  }
}

/** Sent by `terminateChild`, so the stop begins inside the pool's own transition. */
interface TerminateChild {
  type: "supervisor.terminate";
  id: string;
}

export type DynamicSupervisorEvent =
  | { type: "shutdown" }
  | ChildExited
  | TimerFired
  | TerminateChild;
export type DynamicSupervisorLogic = ActorLogic<
  Snapshot<undefined>,
  DynamicSupervisorEvent,
  Partial<SupervisionContext> | undefined
>;

const pools = new WeakMap<AnyActorRef, DynamicPool>();

/** The pool API of a running dynamic supervisor actor (e.g. from `whereis`). */
export const poolOf = (ref: AnyActorRef | undefined): DynamicPool | undefined =>
  ref === undefined ? undefined : pools.get(ref);

export function dynamicSupervisorLogic(
  flags: PoolFlags,
  template: ChildTemplate,
  options: SupervisionOptions & { random?: () => number } = {},
): DynamicSupervisorLogic {
  const label = options.name ?? "dynamic supervisor";
  const resolvedFlags = resolveFlags({ ...flags, strategy: "one_for_one" }, label);
  const resolvedTemplate = resolveChildSpec({ ...template, id: "template" }, label);
  const runtimes = new WeakMap<AnyActorRef, ReturnType<typeof createPool>>();
  return markSupervisionLogic<DynamicSupervisorLogic>({
    getInitialSnapshot(scope, input) {
      const context = resolveContext(options, input, scope.id);
      const random = options.random ?? Math.random;
      const runtime = createPool(resolvedFlags, resolvedTemplate, context, scope.self, random);
      runtimes.set(scope.self, runtime);
      registerView(scope.self, runtime.view);
      pools.set(scope.self, runtime.pool);
      return { status: "active", output: undefined, error: undefined };
    },
    transition: runtimeTransition(runtimes),
    getPersistedSnapshot: (snapshot) => snapshot,
  });
}

function createPool(
  flags: ResolvedFlags,
  template: ResolvedChildSpec,
  context: SupervisionContext,
  self: AnyActorRef,
  random: () => number,
) {
  const children = new Map<string, SupervisedChild>();
  const terminating = new Set<SupervisedChild>();
  const timers = createTimers(context.clock, self);
  let history: readonly number[] = [];
  let stopping: (() => void) | undefined;
  let outcome: Outcome | undefined;
  let halted = false;

  const forget = (child: SupervisedChild) => {
    timers.cancel(child.timer);
    terminating.delete(child);
    children.delete(child.spec.id);
  };
  const reportOf = (child: SupervisedChild, reason: unknown) =>
    crashReport(context.name, child, reason);

  function onExit(event: ChildExited): void {
    const child = children.get(event.id);
    if (child === undefined || child.generation !== event.generation || child.ref === undefined) {
      return;
    }
    detach(child);
    timers.cancel(child.timer);
    child.timer = undefined;
    const { exit } = event;
    if (stopping !== undefined || terminating.has(child)) {
      const unclean = stopError(child, exit);
      if (unclean !== undefined) reportShutdownError(context.logger, reportOf(child, unclean));
      forget(child);
      if (stopping !== undefined && children.size === 0) stopping();
      return;
    }
    decide(child, exit);
  }

  function decide(child: SupervisedChild, exit: Exit): void {
    const restarts = shouldRestart(child.spec.restart, exit);
    if (exit.kind === "crash" && exit.atStart)
      reportStartError(context.logger, reportOf(child, exit.reason));
    else if (exit.kind === "crash") reportCrash(context.logger, reportOf(child, exit.reason));
    else if (restarts) {
      const reason = exit.kind === "shutdown" ? exit.reason : "normal";
      reportTerminated(context.logger, reportOf(child, reason));
    }
    if (!restarts) {
      forget(child);
      return;
    }
    const decision = recordRestart(history, context.clock.now(), flags);
    history = decision.history;
    if (decision.exceeded) {
      child.status = "failed";
      const reason = exit.kind === "normal" ? undefined : exit.reason;
      const { intensity, period } = flags;
      const failure = new SupervisorGaveUp(
        context.name,
        child.spec.id,
        reason,
        history.length,
        intensity,
        period,
      );
      reportGiveUp(context.logger, failure);
      stopAll(() => {
        outcome = { status: "error", error: failure };
      });
      return;
    }
    child.status = "restarting";
    const restart = () => {
      child.timer = undefined;
      child.restarts += 1;
      spawn(child, self, context);
    };
    const backoff = flags.backoff;
    if (backoff === undefined) {
      restart();
      return;
    }
    const ranFor = context.clock.now() - child.startedAt;
    child.attempts = backoffAttempt(child.attempts, ranFor, backoff.resetAfter);
    const delay = backoffDelay(child.attempts, backoff, random);
    if (delay > 0) child.timer = timers.schedule(delay, restart);
    else restart();
  }

  function terminate(id: string): void {
    const child = children.get(id);
    if (child === undefined) return;
    if (child.ref === undefined) {
      forget(child);
    } else if (!terminating.has(child)) {
      terminating.add(child);
      requestStop(child, timers.schedule);
    }
  }

  function stopAll(then: () => void): void {
    stopping = then;
    for (const child of [...children.values()].reverse()) {
      if (child.ref === undefined) forget(child);
      else if (!terminating.has(child)) requestStop(child, timers.schedule);
    }
    if (children.size === 0) then();
  }

  const pool: DynamicPool = {
    startChild(id, input) {
      if (stopping !== undefined || outcome !== undefined || halted) {
        throw new SupervisorNotRunning(context.name);
      }
      if (typeof id !== "string" || id === "") {
        throw new InvalidChildSpec(context.name, String(id), "id", "must be a non-empty string");
      }
      if (children.has(id)) throw new DuplicateChildId(context.name, id);
      const child = newChild({ ...template, id, input });
      children.set(id, child);
      const failure = spawn(child, self, context, "return");
      if (failure !== undefined) {
        children.delete(id);
        reportStartError(context.logger, reportOf(child, failure.reason));
        throw new FailedToStartChild(context.name, id, failure.reason);
      }
      return child.ref;
    },
    terminateChild(id) {
      if (!children.has(id)) return false;
      self.send({ type: "supervisor.terminate", id } satisfies TerminateChild);
      return true;
    },
    count: () => children.size,
    whereis: (id) => children.get(id)?.ref,
  };

  const view: SupervisionView = {
    status: (): NodeStatus => {
      if (halted || outcome?.status === "done") return "stopped";
      return outcome?.status === "error" ? "failed" : "running";
    },
    children: () => [...children.values()].map(treeNode),
    whereis: (id) => findChild(children.values(), id),
  };

  return {
    pool,
    view,
    handle(event: DynamicSupervisorEvent): Outcome | undefined {
      if (outcome !== undefined || halted) return outcome;
      if (event.type === "supervisor.child.exited") onExit(event);
      else if (event.type === "supervisor.timer") timers.fire(event.token);
      else if (event.type === "supervisor.terminate") terminate(event.id);
      else if (event.type === "shutdown" && stopping === undefined) {
        stopAll(() => {
          outcome = { status: "done" };
        });
      }
      return outcome;
    },
    halt(): void {
      halted = true;
      timers.cancelAll();
      for (const child of [...children.values()].reverse()) {
        const ref = child.ref;
        detach(child);
        child.status = "stopped";
        ref?.stop();
      }
      children.clear();
    },
  };
}
