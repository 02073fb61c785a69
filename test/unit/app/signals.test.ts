import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { Signals } from "../../../src/app/signals.js";

/** A process stand-in that really emits signals and records what is raised again. */
function fakeProcess() {
  const emitter = new EventEmitter();
  const raised: string[] = [];
  return {
    emitter,
    raised,
    source: {
      pid: 4242,
      on: (e: string, l: () => void) => emitter.on(e, l),
      off: (e: string, l: () => void) => emitter.off(e, l),
      kill: (_pid: number, signal: string) => raised.push(signal),
    },
  };
}

describe("Signals", () => {
  it("remembers a stop signal that came before its owner, and hands it over at once", () => {
    const p = fakeProcess();
    const signals = new Signals(p.source);
    p.emitter.emit("SIGTERM");
    expect(signals.stopping).toBe("SIGTERM");
    const seen: string[] = [];
    signals.whenStop((s) => seen.push(s));
    expect(seen).toEqual(["SIGTERM"]);
    p.emitter.emit("SIGINT");
    expect(seen).toEqual(["SIGTERM", "SIGINT"]);
    expect(signals.stopping).toBe("SIGTERM");
  });

  it("turns any number of early SIGHUPs into one reload once the daemon listens", () => {
    const p = fakeProcess();
    const signals = new Signals(p.source);
    p.emitter.emit("SIGHUP");
    p.emitter.emit("SIGHUP");
    let reloads = 0;
    signals.whenReload(() => reloads++);
    expect(reloads).toBe(1);
    p.emitter.emit("SIGHUP");
    expect(reloads).toBe(2);
  });

  it("release() removes every listener and raises a pending stop signal again", () => {
    const p = fakeProcess();
    const signals = new Signals(p.source);
    expect(p.emitter.listenerCount("SIGHUP")).toBe(1);
    p.emitter.emit("SIGINT");
    signals.release();
    for (const s of ["SIGTERM", "SIGINT", "SIGHUP"]) expect(p.emitter.listenerCount(s)).toBe(0);
    expect(p.raised).toEqual(["SIGINT"]);
  });

  it("release() without a stop signal raises nothing", () => {
    const p = fakeProcess();
    new Signals(p.source).release();
    expect(p.raised).toEqual([]);
  });
});
