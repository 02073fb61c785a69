import { describe, expect, it } from "vitest";
import { assign, createActor, createMachine, toPromise, waitFor } from "xstate";
import {
  OsProcessExited,
  type OsProcessHandle,
  OsProcessStartFailed,
  osProcessLogic,
  spawnProcess,
} from "../../src/otp/os-process.js";

// Real, short-lived child processes (node -e): no mocks, no sleeps; every test
// waits on the process's own exit.

const node = (code: string) => spawnProcess(process.execPath, ["-e", code]);
const forever = () => node("setInterval(() => {}, 1000)");

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Remembers the handle so a test can await the real exit. */
function recording(start: () => Promise<OsProcessHandle>) {
  const handles: OsProcessHandle[] = [];
  return {
    handles,
    start: async () => {
      const handle = await start();
      handles.push(handle);
      return handle;
    },
  };
}

describe("os-process actor: abnormal termination", () => {
  it("fails with OsProcessExited when the process exits on its own", async () => {
    const actor = createActor(osProcessLogic, {
      input: { name: "short", start: () => node("process.exit(3)") },
    });
    const result = toPromise(actor);
    actor.start();
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OsProcessExited);
    expect((error as OsProcessExited).exit).toEqual({ code: 3, signal: null });
    expect(actor.getSnapshot().status).toBe("error");
  });

  it("fails with OsProcessStartFailed when the command cannot be spawned", async () => {
    const actor = createActor(osProcessLogic, {
      input: { start: () => spawnProcess("/nonexistent/presence-notify-binary") },
    });
    const result = toPromise(actor);
    actor.start();
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OsProcessStartFailed);
    expect((error as OsProcessStartFailed)._tag).toBe("OsProcessStartFailed");
  });

  it("reports the crash to its parent as xstate.error.actor, with the exit", async () => {
    const parent = createMachine({
      types: {} as { context: { reason: unknown } },
      context: { reason: undefined },
      initial: "running",
      states: {
        running: {
          invoke: {
            id: "child",
            src: osProcessLogic,
            input: { name: "child", start: () => node("process.kill(process.pid, 'SIGKILL')") },
            onError: { target: "crashed", actions: assign({ reason: ({ event }) => event.error }) },
          },
        },
        crashed: {},
      },
    });
    const actor = createActor(parent).start();
    const snap = await waitFor(actor, (s) => s.matches("crashed"), { timeout: 5_000 });
    expect(snap.context.reason).toBeInstanceOf(OsProcessExited);
    expect((snap.context.reason as OsProcessExited).exit).toEqual({
      code: null,
      signal: "SIGKILL",
    });
  });
});

describe("os-process actor: orderly shutdown", () => {
  it("stops the process on { type: 'shutdown' } and is done with its exit", async () => {
    const rec = recording(forever);
    const actor = createActor(osProcessLogic, { input: { start: rec.start } });
    const result = toPromise(actor);
    actor.start();
    await waitFor(actor, (s) => s.phase === "running", { timeout: 5_000 });
    const pid = actor.getSnapshot().pid as number;
    expect(isAlive(pid)).toBe(true);
    actor.send({ type: "shutdown" });
    expect(await result).toEqual({ code: null, signal: "SIGTERM" });
    expect(isAlive(pid)).toBe(false);
  });

  it("stops the process when the actor itself is stopped", async () => {
    const rec = recording(forever);
    const actor = createActor(osProcessLogic, { input: { start: rec.start } }).start();
    await waitFor(actor, (s) => s.phase === "running", { timeout: 5_000 });
    actor.stop();
    expect(actor.getSnapshot().status).toBe("stopped");
    const handle = rec.handles[0] as OsProcessHandle;
    expect(await handle.exited).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("stops a process whose start was still pending when shutdown arrived", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const rec = recording(async () => {
      await gate;
      return forever();
    });
    const actor = createActor(osProcessLogic, { input: { start: rec.start } });
    const result = toPromise(actor);
    actor.start();
    actor.send({ type: "shutdown" });
    expect(actor.getSnapshot().phase).toBe("stopping");
    release();
    expect(await result).toEqual({ code: null, signal: "SIGTERM" });
    expect(isAlive((rec.handles[0] as OsProcessHandle).pid)).toBe(false);
  });
});
