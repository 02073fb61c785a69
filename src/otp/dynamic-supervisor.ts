import type { ActorLogic, AnyActorRef, Snapshot } from "xstate";
import { backoffAttempt, backoffDelay } from "./backoff.js";
import { recordRestart } from "./restart-intensity.js";
import {
  type ChildExited,
  detach,
  type Exit,
  findChild,
  markSupervisionLogic,
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
import { nodeStatusOf, outcomeOf, type SupervisorStatus } from "./supervisor-status.js";
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
): PoolRuntime {
  return new PoolRuntime(flags, template, context, self, random);
}

/**
 * One dynamic supervisor actor's children and decisions; every method but
 * `pool.startChild` (called from outside, synchronously) runs inside its
 * transition. Its own lifecycle is one `SupervisorStatus`: running from the
 * start (a pool starts empty), stopping, then stopped or failed.
 */
class PoolRuntime {
  readonly #children = new Map<string, SupervisedChild>();
  readonly #terminating = new Set<SupervisedChild>();
  readonly #timers: ReturnType<typeof createTimers>;
  #history: readonly number[] = [];
  #status: SupervisorStatus = { kind: "running" };
  readonly pool: DynamicPool;
  readonly view: SupervisionView;

  constructor(
    private readonly flags: ResolvedFlags,
    private readonly template: ResolvedChildSpec,
    private readonly context: SupervisionContext,
    private readonly self: AnyActorRef,
    private readonly random: () => number,
  ) {
    this.#timers = createTimers(context.clock, self);
    this.pool = {
      startChild: (id, input) => this.#startChild(id, input),
      terminateChild: (id) => {
        if (!this.#children.has(id)) return false;
        self.send({ type: "supervisor.terminate", id } satisfies TerminateChild);
        return true;
      },
      count: () => this.#children.size,
      whereis: (id) => this.#children.get(id)?.ref,
    };
    this.view = {
      status: () => nodeStatusOf(this.#status, false),
      children: () => [...this.#children.values()].map(treeNode),
      whereis: (id) => findChild(this.#children.values(), id),
    };
  }

  handle(event: DynamicSupervisorEvent): Outcome | undefined {
    const ended = outcomeOf(this.#status);
    if (ended !== undefined) return ended;
    if (event.type === "supervisor.child.exited") this.#onExit(event);
    else if (event.type === "supervisor.timer") this.#timers.fire(event.token);
    else if (event.type === "supervisor.terminate") this.#terminate(event.id);
    else if (event.type === "shutdown" && this.#status.kind === "running")
      this.#stopAll("shutdown");
    return outcomeOf(this.#status);
  }

  /** XState's stop: no grace, children are stopped at once, youngest first. */
  halt(): void {
    this.#status = { kind: "stopped" };
    this.#timers.cancelAll();
    for (const child of [...this.#children.values()].reverse()) {
      const ref = child.ref;
      detach(child);
      child.status = "stopped";
      ref?.stop();
    }
    this.#children.clear();
  }

  #startChild(id: string, input: unknown): AnyActorRef | undefined {
    const { context } = this;
    if (this.#status.kind !== "running") throw new SupervisorNotRunning(context.name);
    if (typeof id !== "string" || id === "") {
      throw new InvalidChildSpec(context.name, String(id), "id", "must be a non-empty string");
    }
    if (this.#children.has(id)) throw new DuplicateChildId(context.name, id);
    const child = newChild({ ...this.template, id, input });
    this.#children.set(id, child);
    const failure = spawn(child, this.self, context, "return");
    if (failure !== undefined) {
      this.#children.delete(id);
      reportStartError(context.logger, this.#reportOf(child, failure.reason));
      throw new FailedToStartChild(context.name, id, failure.reason);
    }
    return child.ref;
  }

  #forget(child: SupervisedChild): void {
    this.#timers.cancel(child.timer);
    this.#terminating.delete(child);
    this.#children.delete(child.spec.id);
  }

  #reportOf(child: SupervisedChild, reason: unknown) {
    return crashReport(this.context.name, child, reason);
  }

  #onExit(event: ChildExited): void {
    const child = this.#children.get(event.id);
    if (child === undefined || child.generation !== event.generation || child.ref === undefined) {
      return;
    }
    detach(child);
    this.#timers.cancel(child.timer);
    child.timer = undefined;
    const { exit } = event;
    if (this.#status.kind === "stopping" || this.#terminating.has(child)) {
      const unclean = stopError(child, exit);
      if (unclean !== undefined) {
        reportShutdownError(this.context.logger, this.#reportOf(child, unclean));
      }
      this.#forget(child);
      if (this.#status.kind === "stopping" && this.#children.size === 0) this.#stopped();
      return;
    }
    this.#decide(child, exit);
  }

  #decide(child: SupervisedChild, exit: Exit): void {
    const { context, flags } = this;
    const restarts = shouldRestart(child.spec.restart, exit);
    if (exit.kind === "crash" && exit.atStart)
      reportStartError(context.logger, this.#reportOf(child, exit.reason));
    else if (exit.kind === "crash") reportCrash(context.logger, this.#reportOf(child, exit.reason));
    else if (restarts) {
      const reason = exit.kind === "shutdown" ? exit.reason : "normal";
      reportTerminated(context.logger, this.#reportOf(child, reason));
    }
    if (!restarts) {
      this.#forget(child);
      return;
    }
    const decision = recordRestart(this.#history, context.clock.now(), flags);
    this.#history = decision.history;
    if (decision.exceeded) {
      child.status = "failed";
      const reason = exit.kind === "normal" ? undefined : exit.reason;
      const { intensity, period } = flags;
      const failure = new SupervisorGaveUp(
        context.name,
        child.spec.id,
        reason,
        this.#history.length,
        intensity,
        period,
      );
      reportGiveUp(context.logger, failure);
      this.#stopAll(failure);
      return;
    }
    this.#restartLater(child);
  }

  /** Restarts `child` now, or after its backoff delay. */
  #restartLater(child: SupervisedChild): void {
    child.status = "restarting";
    const restart = () => {
      child.timer = undefined;
      child.restarts += 1;
      spawn(child, this.self, this.context);
    };
    const backoff = this.flags.backoff;
    if (backoff === undefined) {
      restart();
      return;
    }
    const ranFor = this.context.clock.now() - child.startedAt;
    child.attempts = backoffAttempt(child.attempts, ranFor, backoff.resetAfter);
    const delay = backoffDelay(child.attempts, backoff, this.random);
    if (delay > 0) child.timer = this.#timers.schedule(delay, restart);
    else restart();
  }

  #terminate(id: string): void {
    const child = this.#children.get(id);
    if (child === undefined) return;
    if (child.ref === undefined) {
      this.#forget(child);
    } else if (!this.#terminating.has(child)) {
      this.#terminating.add(child);
      requestStop(child, this.#timers.schedule);
    }
  }

  /** Stops every child youngest first; the pool ends once the last is gone. */
  #stopAll(cause: "shutdown" | SupervisorGaveUp): void {
    this.#status = { kind: "stopping", cause };
    for (const child of [...this.#children.values()].reverse()) {
      if (child.ref === undefined) this.#forget(child);
      else if (!this.#terminating.has(child)) requestStop(child, this.#timers.schedule);
    }
    if (this.#children.size === 0) this.#stopped();
  }

  #stopped(): void {
    if (this.#status.kind !== "stopping") return;
    const { cause } = this.#status;
    this.#status = cause === "shutdown" ? { kind: "stopped" } : { kind: "failed", error: cause };
  }
}
