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
  type Strategy,
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

/** Positions of the children to restart when child `failed` (of `count`) must be restarted. */
export type RestartScope = (strategy: Strategy, count: number, failed: number) => number[];

/** OTP supervisor.erl `restart/3`: one_for_one, one_for_all, rest_for_one. */
export const restartScope: RestartScope = (strategy, count, failed) => {
  const from = strategy === "one_for_all" ? 0 : failed;
  const to = strategy === "one_for_one" ? failed + 1 : count;
  return Array.from({ length: to - from }, (_, i) => from + i);
};

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
) {
  const scopeOf = options.unsafeRestartScopeForTests ?? restartScope;
  const random = options.random ?? Math.random;
  const children = specs.map(newChild);
  const timers = createTimers(context.clock, self);
  let history: readonly number[] = [];
  let op: Operation | undefined;
  let deferred: { child: SupervisedChild; exit: Exit }[] = [];
  let status: SupervisorStatus = { kind: "starting" };

  const start = (child: SupervisedChild) => spawn(child, self, context);

  /** Stops the next child of the current operation, or runs its continuation once all are gone. */
  function advance(): void {
    while (op !== undefined && op.current === undefined) {
      const next = op.queue.shift();
      if (next === undefined) {
        const { afterwards } = op;
        op = undefined;
        afterwards();
        return;
      }
      if (next.ref === undefined) continue;
      op.current = next;
      requestStop(next, timers.schedule);
    }
  }

  function onExit(event: ChildExited): void {
    const child = children.find((c) => c.spec.id === event.id);
    if (child === undefined || child.generation !== event.generation || child.ref === undefined) {
      return;
    }
    detach(child);
    timers.cancel(child.timer);
    child.timer = undefined;
    const { exit } = event;
    if (op !== undefined && (op.current === child || op.queue.includes(child))) {
      // Asked to stop (or about to be): whatever the reason, it is not restarted for it.
      const unclean = stopError(child, exit);
      if (unclean !== undefined) reportShutdownError(context.logger, reportOf(child, unclean));
      child.status = status.kind === "stopping" ? "stopped" : "restarting";
      op.queue = op.queue.filter((c) => c !== child);
      if (op.current === child) {
        op.current = undefined;
        advance();
      }
      return;
    }
    if (op !== undefined) {
      // Busy restarting a group: like OTP's mailbox, the exit waits its turn.
      child.status = "stopped";
      deferred.push({ child, exit });
      return;
    }
    decide(child, exit);
  }

  const reportOf = (child: SupervisedChild, reason: unknown) =>
    crashReport(context.name, child, reason);
  const report = (child: SupervisedChild, reason: unknown) =>
    reportCrash(context.logger, reportOf(child, reason));

  function decide(child: SupervisedChild, exit: Exit): void {
    const restarts = shouldRestart(child.spec.restart, exit);
    if (exit.kind === "crash" && exit.atStart)
      reportStartError(context.logger, reportOf(child, exit.reason));
    else if (exit.kind === "crash") report(child, exit.reason);
    else if (restarts)
      reportTerminated(
        context.logger,
        reportOf(child, exit.kind === "shutdown" ? exit.reason : "normal"),
      );
    else
      context.logger.debug(
        { supervisor: context.name, child: child.spec.id, exit: exit.kind },
        "child exited",
      );
    if (!restarts) {
      child.status = "stopped";
      if (child.spec.restart === "temporary") remove(child);
      return;
    }
    const decision = recordRestart(history, context.clock.now(), flags);
    history = decision.history;
    if (decision.exceeded) {
      child.status = "failed";
      const reason = exit.kind === "normal" ? undefined : exit.reason;
      const { intensity, period } = flags;
      giveUp(
        new SupervisorGaveUp(
          context.name,
          child.spec.id,
          reason,
          history.length,
          intensity,
          period,
        ),
      );
      return;
    }
    restartFrom(child);
  }

  function restartFrom(failed: SupervisedChild): void {
    const delay = nextDelay(failed);
    const scope = scopeOf(flags.strategy, children.length, children.indexOf(failed)).flatMap(
      (i) => children[i] ?? [],
    );
    for (const c of scope) {
      if (c.ref !== undefined) continue;
      // A group restart overtakes a child's own pending backoff restart.
      timers.cancel(c.timer);
      c.timer = undefined;
      c.status = "restarting";
    }
    if (scope.length <= 1) {
      later(
        delay,
        (token) => (failed.timer = token),
        () => restart([failed]),
      );
      return;
    }
    const toStop = scope.filter((c) => c !== failed && c.ref !== undefined).reverse();
    op = {
      queue: toStop,
      current: undefined,
      afterwards: () => {
        // As OTP, temporary children stopped for a group restart are not started
        // again, and exits still queued from the group's old actors are moot.
        const survivors = scope.filter((c) => c.spec.restart !== "temporary");
        for (const c of scope) if (c.spec.restart === "temporary") remove(c);
        deferred = deferred.filter((d) => !scope.includes(d.child));
        op = { queue: [], current: undefined, afterwards: () => {} };
        const waiting = op;
        later(
          delay,
          (token) => (waiting.timer = token),
          () => {
            op = undefined;
            restart(survivors);
            drainDeferred();
          },
        );
      },
    };
    advance();
  }

  function later(delay: number, keep: (token: number) => void, fn: () => void): void {
    if (delay > 0) keep(timers.schedule(delay, fn));
    else fn();
  }

  function remove(child: SupervisedChild): void {
    const at = children.indexOf(child);
    if (at >= 0) children.splice(at, 1);
  }

  /**
   * Starts `group` in order. As OTP's `restart_multiple_children`, a child that
   * fails in its init ends the run: the later ones wait, "restarting", until
   * its exit (already on its way) is decided and restarts the scope from it.
   */
  function restart(group: SupervisedChild[]): void {
    deferred = deferred.filter((d) => !group.includes(d.child));
    for (const child of group) {
      if (child.ref !== undefined) continue;
      child.timer = undefined;
      child.restarts += 1;
      if (start(child) !== undefined) return;
    }
  }

  function drainDeferred(): void {
    while (op === undefined && status.kind === "running") {
      const next = deferred.shift();
      if (next === undefined) return;
      decide(next.child, next.exit);
    }
  }

  function nextDelay(child: SupervisedChild): number {
    const backoff = flags.backoff;
    if (backoff === undefined) return 0;
    const ranFor = context.clock.now() - child.startedAt;
    child.attempts = backoffAttempt(child.attempts, ranFor, backoff.resetAfter);
    return backoffDelay(child.attempts, backoff, random);
  }

  function giveUp(failure: SupervisorGaveUp): void {
    reportGiveUp(context.logger, failure);
    stopAll(failure);
  }

  /** Stops every child in reverse start order, pending restarts included, then ends. */
  function stopAll(cause: "shutdown" | SupervisorGaveUp): void {
    status = { kind: "stopping", cause };
    timers.cancel(op?.timer);
    for (const child of children) {
      if (child.ref === undefined && child.status === "restarting") {
        timers.cancel(child.timer);
        child.timer = undefined;
        child.status = "stopped";
      }
    }
    deferred = [];
    const current = op?.current;
    const queue = children.filter((c) => c.ref !== undefined && c !== current).reverse();
    const afterwards = () => {
      status = cause === "shutdown" ? { kind: "stopped" } : { kind: "failed", error: cause };
    };
    op = { queue, current, afterwards };
    advance();
  }

  function handle(event: SupervisorEvent): Outcome | undefined {
    if (status.kind === "stopped" || status.kind === "failed") return outcomeOf(status);
    switch (event.type) {
      case "supervisor.child.exited":
        onExit(event);
        break;
      case "supervisor.timer":
        timers.fire(event.token);
        break;
      case "shutdown":
        if (status.kind === "running") stopAll("shutdown");
        break;
    }
    return outcomeOf(status);
  }

  /** XState's stop: no grace, children are stopped at once, youngest first. */
  function halt(): void {
    status = { kind: "stopped" };
    timers.cancelAll();
    op = undefined;
    deferred = [];
    for (const child of [...children].reverse()) {
      const ref = child.ref;
      detach(child);
      child.status = "stopped";
      ref?.stop();
    }
  }

  const view: SupervisionView = {
    status: () => nodeStatusOf(status, op !== undefined),
    children: () => children.map(treeNode),
    whereis: (id) => findChild(children, id),
  };

  return {
    start: () => {
      for (const [at, child] of children.entries()) {
        const failure = spawn(child, self, context, "return");
        if (failure === undefined) continue;
        reportStartError(context.logger, reportOf(child, failure.reason));
        for (const started of children.slice(0, at).reverse()) stopAtOnce(started);
        const error = new FailedToStartChild(context.name, child.spec.id, failure.reason);
        status = { kind: "failed", error };
        // XState puts an actor whose logic throws in `start` in error, with this reason.
        throw error;
      }
      status = { kind: "running" };
    },
    handle,
    halt,
    view,
  };
}
