import type { ActorLogic, AnyActorRef, Snapshot } from "xstate";
import { backoffAttempt, backoffDelay } from "./backoff.js";
import { recordRestart } from "./restart-intensity.js";
import { type RestartScope, restartScope } from "./restart-scope.js";
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
  stopAtOnce,
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
  type ChildSpec,
  type ResolvedChildSpec,
  type ResolvedFlags,
  resolveChildSpecs,
  resolveFlags,
  type SupervisorFlags,
} from "./supervisor-spec.js";
import { nodeStatusOf, outcomeOf, type SupervisorStatus } from "./supervisor-status.js";
import { createTimers, type TimerFired } from "./supervisor-timers.js";

/**
 * An OTP supervisor (https://www.erlang.org/doc/system/sup_princ.html) as
 * XState actor logic. Children are real XState actors, started in spec order
 * and stopped in reverse; a child's end reaches the supervisor as an event, so
 * every decision is taken inside the supervisor's own transition.
 *
 * As OTP's `start_children`, a child that fails in its init fails the start:
 * the later children are never started, the earlier ones are stopped youngest
 * first, and the supervisor's actor is in error with `FailedToStartChild` the
 * moment its `start()` returns, so a parent's start fails in turn.
 */

export type SupervisorEvent = { type: "shutdown" } | ChildExited | TimerFired;
export type SupervisorSnapshot = Snapshot<undefined>;
export type SupervisorLogic = ActorLogic<
  SupervisorSnapshot,
  SupervisorEvent,
  Partial<SupervisionContext> | undefined
>;

export interface SupervisorOptions extends SupervisionOptions {
  /** Source of backoff jitter, 0 <= n < 1. Default Math.random. */
  random?: () => number;
  /**
   * TEST ONLY. Replaces the restart strategy, so the model-based test can show
   * that it notices a wrong one. Never set this outside tests.
   */
  unsafeRestartScopeForTests?: RestartScope;
}

/**
 * A run of ordered stops, then a continuation: a group restart while
 * running; the shutdown or give-up while stopping.
 */
interface Operation {
  queue: SupervisedChild[];
  current: SupervisedChild | undefined;
  afterwards: () => void;
  timer?: number;
}

export function supervisorLogic(
  flags: SupervisorFlags,
  specs: readonly ChildSpec[],
  options: SupervisorOptions = {},
): SupervisorLogic {
  const label = options.name ?? "supervisor";
  const resolvedFlags = resolveFlags(flags, label);
  const resolvedSpecs = resolveChildSpecs(specs, label);
  const runtimes = new WeakMap<AnyActorRef, ReturnType<typeof createRuntime>>();
  const active: SupervisorSnapshot = { status: "active", output: undefined, error: undefined };
  return markSupervisionLogic<SupervisorLogic>({
    getInitialSnapshot(scope, input) {
      const context = resolveContext(options, input, scope.id);
      const runtime = createRuntime(resolvedFlags, resolvedSpecs, context, scope.self, options);
      runtimes.set(scope.self, runtime);
      registerView(scope.self, runtime.view);
      return active;
    },
    start(_snapshot, scope) {
      runtimes.get(scope.self)?.start();
    },
    transition: runtimeTransition(runtimes),
    getPersistedSnapshot: (snapshot) => snapshot,
  });
}

function createRuntime(
  flags: ResolvedFlags,
  specs: readonly ResolvedChildSpec[],
  context: SupervisionContext,
  self: AnyActorRef,
  options: SupervisorOptions,
): SupervisorRuntime {
  return new SupervisorRuntime(flags, specs, context, self, options);
}

/** One supervisor actor's state and decisions; every method runs inside its transition. */
class SupervisorRuntime {
  readonly #scopeOf: RestartScope;
  readonly #random: () => number;
  readonly #children: SupervisedChild[];
  readonly #timers: ReturnType<typeof createTimers>;
  #history: readonly number[] = [];
  #op: Operation | undefined;
  #deferred: { child: SupervisedChild; exit: Exit }[] = [];
  #status: SupervisorStatus = { kind: "starting" };
  readonly view: SupervisionView;

  constructor(
    private readonly flags: ResolvedFlags,
    specs: readonly ResolvedChildSpec[],
    private readonly context: SupervisionContext,
    private readonly self: AnyActorRef,
    options: SupervisorOptions,
  ) {
    this.#scopeOf = options.unsafeRestartScopeForTests ?? restartScope;
    this.#random = options.random ?? Math.random;
    this.#children = specs.map(newChild);
    this.#timers = createTimers(context.clock, self);
    this.view = {
      status: () => nodeStatusOf(this.#status, this.#op !== undefined),
      children: () => this.#children.map(treeNode),
      whereis: (id) => findChild(this.#children, id),
    };
  }

  start(): void {
    const { context } = this;
    for (const [at, child] of this.#children.entries()) {
      const failure = spawn(child, this.self, context, "return");
      if (failure === undefined) continue;
      reportStartError(context.logger, this.#reportOf(child, failure.reason));
      for (const started of this.#children.slice(0, at).reverse()) stopAtOnce(started);
      const error = new FailedToStartChild(context.name, child.spec.id, failure.reason);
      this.#status = { kind: "failed", error };
      // XState puts an actor whose logic throws in \`start\` in error, with this reason.
      throw error;
    }
    this.#status = { kind: "running" };
  }

  #spawnChild(child: SupervisedChild) {
    return spawn(child, this.self, this.context);
  }

  /** Stops the next child of the current operation, or runs its continuation once all are gone. */
  #advance(): void {
    while (this.#op !== undefined && this.#op.current === undefined) {
      const next = this.#op.queue.shift();
      if (next === undefined) {
        const { afterwards } = this.#op;
        this.#op = undefined;
        afterwards();
        return;
      }
      if (next.ref === undefined) continue;
      this.#op.current = next;
      requestStop(next, this.#timers.schedule);
    }
  }

  #onExit(event: ChildExited): void {
    const child = this.#children.find((c) => c.spec.id === event.id);
    if (child === undefined || child.generation !== event.generation || child.ref === undefined) {
      return;
    }
    detach(child);
    this.#timers.cancel(child.timer);
    child.timer = undefined;
    const { exit } = event;
    if (this.#op !== undefined && (this.#op.current === child || this.#op.queue.includes(child))) {
      // Asked to stop (or about to be): whatever the reason, it is not restarted for it.
      const unclean = stopError(child, exit);
      if (unclean !== undefined)
        reportShutdownError(this.context.logger, this.#reportOf(child, unclean));
      child.status = this.#status.kind === "stopping" ? "stopped" : "restarting";
      this.#op.queue = this.#op.queue.filter((c) => c !== child);
      if (this.#op.current === child) {
        this.#op.current = undefined;
        this.#advance();
      }
      return;
    }
    if (this.#op !== undefined) {
      // Busy restarting a group: like OTP's mailbox, the exit waits its turn.
      child.status = "stopped";
      this.#deferred.push({ child, exit });
      return;
    }
    this.#decide(child, exit);
  }

  #reportOf(child: SupervisedChild, reason: unknown) {
    return crashReport(this.context.name, child, reason);
  }

  #report(child: SupervisedChild, reason: unknown): void {
    reportCrash(this.context.logger, this.#reportOf(child, reason));
  }

  #decide(child: SupervisedChild, exit: Exit): void {
    const restarts = shouldRestart(child.spec.restart, exit);
    if (exit.kind === "crash" && exit.atStart)
      reportStartError(this.context.logger, this.#reportOf(child, exit.reason));
    else if (exit.kind === "crash") this.#report(child, exit.reason);
    else if (restarts)
      reportTerminated(
        this.context.logger,
        this.#reportOf(child, exit.kind === "shutdown" ? exit.reason : "normal"),
      );
    else
      this.context.logger.debug(
        { supervisor: this.context.name, child: child.spec.id, exit: exit.kind },
        "child exited",
      );
    if (!restarts) {
      child.status = "stopped";
      if (child.spec.restart === "temporary") this.#remove(child);
      return;
    }
    const decision = recordRestart(this.#history, this.context.clock.now(), this.flags);
    this.#history = decision.history;
    if (decision.exceeded) {
      child.status = "failed";
      const reason = exit.kind === "normal" ? undefined : exit.reason;
      const { intensity, period } = this.flags;
      this.#giveUp(
        new SupervisorGaveUp(
          this.context.name,
          child.spec.id,
          reason,
          this.#history.length,
          intensity,
          period,
        ),
      );
      return;
    }
    this.#restartFrom(child);
  }

  #restartFrom(failed: SupervisedChild): void {
    const delay = this.#nextDelay(failed);
    const scope = this.#scopeOf(
      this.flags.strategy,
      this.#children.length,
      this.#children.indexOf(failed),
    ).flatMap((i) => this.#children[i] ?? []);
    for (const c of scope) {
      if (c.ref !== undefined) continue;
      // A group restart overtakes a child's own pending backoff restart.
      this.#timers.cancel(c.timer);
      c.timer = undefined;
      c.status = "restarting";
    }
    if (scope.length <= 1) {
      this.#later(
        delay,
        (token) => (failed.timer = token),
        () => this.#restart([failed]),
      );
      return;
    }
    const toStop = scope.filter((c) => c !== failed && c.ref !== undefined).reverse();
    this.#op = {
      queue: toStop,
      current: undefined,
      afterwards: () => {
        // As OTP, temporary children stopped for a group restart are not started
        // again, and exits still queued from the group's old actors are moot.
        const survivors = scope.filter((c) => c.spec.restart !== "temporary");
        for (const c of scope) if (c.spec.restart === "temporary") this.#remove(c);
        this.#deferred = this.#deferred.filter((d) => !scope.includes(d.child));
        this.#op = { queue: [], current: undefined, afterwards: () => {} };
        const waiting = this.#op;
        this.#later(
          delay,
          (token) => (waiting.timer = token),
          () => {
            this.#op = undefined;
            this.#restart(survivors);
            this.#drainDeferred();
          },
        );
      },
    };
    this.#advance();
  }

  #later(delay: number, keep: (token: number) => void, fn: () => void): void {
    if (delay > 0) keep(this.#timers.schedule(delay, fn));
    else fn();
  }

  #remove(child: SupervisedChild): void {
    const at = this.#children.indexOf(child);
    if (at >= 0) this.#children.splice(at, 1);
  }

  /**
   * Starts `group` in order. As OTP's `restart_multiple_children`, a child that
   * fails in its init ends the run: the later ones wait, "restarting", until
   * its exit (already on its way) is decided and restarts the scope from it.
   */
  #restart(group: SupervisedChild[]): void {
    this.#deferred = this.#deferred.filter((d) => !group.includes(d.child));
    for (const child of group) {
      if (child.ref !== undefined) continue;
      child.timer = undefined;
      child.restarts += 1;
      if (this.#spawnChild(child) !== undefined) return;
    }
  }

  #drainDeferred(): void {
    while (this.#op === undefined && this.#status.kind === "running") {
      const next = this.#deferred.shift();
      if (next === undefined) return;
      this.#decide(next.child, next.exit);
    }
  }

  #nextDelay(child: SupervisedChild): number {
    const backoff = this.flags.backoff;
    if (backoff === undefined) return 0;
    const ranFor = this.context.clock.now() - child.startedAt;
    child.attempts = backoffAttempt(child.attempts, ranFor, backoff.resetAfter);
    return backoffDelay(child.attempts, backoff, this.#random);
  }

  #giveUp(failure: SupervisorGaveUp): void {
    reportGiveUp(this.context.logger, failure);
    this.#stopAll(failure);
  }

  /** Stops every child in reverse start order, pending restarts included, then ends. */
  #stopAll(cause: "shutdown" | SupervisorGaveUp): void {
    this.#status = { kind: "stopping", cause };
    this.#timers.cancel(this.#op?.timer);
    for (const child of this.#children) {
      if (child.ref === undefined && child.status === "restarting") {
        this.#timers.cancel(child.timer);
        child.timer = undefined;
        child.status = "stopped";
      }
    }
    this.#deferred = [];
    const current = this.#op?.current;
    const queue = this.#children.filter((c) => c.ref !== undefined && c !== current).reverse();
    const afterwards = () => {
      this.#status = cause === "shutdown" ? { kind: "stopped" } : { kind: "failed", error: cause };
    };
    this.#op = { queue, current, afterwards };
    this.#advance();
  }

  handle(event: SupervisorEvent): Outcome | undefined {
    if (this.#status.kind === "stopped" || this.#status.kind === "failed")
      return outcomeOf(this.#status);
    switch (event.type) {
      case "supervisor.child.exited":
        this.#onExit(event);
        break;
      case "supervisor.timer":
        this.#timers.fire(event.token);
        break;
      case "shutdown":
        if (this.#status.kind === "running") this.#stopAll("shutdown");
        break;
    }
    return outcomeOf(this.#status);
  }

  /** XState's stop: no grace, children are stopped at once, youngest first. */
  halt(): void {
    this.#status = { kind: "stopped" };
    this.#timers.cancelAll();
    this.#op = undefined;
    this.#deferred = [];
    for (const child of [...this.#children].reverse()) {
      const ref = child.ref;
      detach(child);
      child.status = "stopped";
      ref?.stop();
    }
  }
}
