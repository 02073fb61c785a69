import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { worker, workers } from "./children.js";

describe("one_for_all", () => {
  it("stops the others youngest first, then starts everyone in spec order", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_all", intensity: 5 },
      children: workers(["a", "b", "c"], journal),
      clock: new SimulatedClock(),
    });
    journal.length = 0;

    sup.send("b", { type: "crash" });

    expect(journal).toEqual(["stop:c", "stop:a", "start:a", "start:b", "start:c"]);
    expect(sup.tree().children?.map((c) => [c.id, c.status, c.restarts])).toEqual([
      ["a", "running", 1],
      ["b", "running", 1],
      ["c", "running", 1],
    ]);
  });

  it("does not start again a temporary sibling it had to stop", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_all", intensity: 5 },
      children: [
        ...workers(["a"], journal),
        { id: "t", logic: worker, input: { name: "t", journal }, restart: "temporary" },
      ],
      clock: new SimulatedClock(),
    });
    journal.length = 0;

    sup.send("a", { type: "crash" });

    expect(journal).toEqual(["stop:t", "start:a"]);
    expect(sup.tree().children?.map((c) => c.id)).toEqual(["a"]);
    expect(sup.whereis("t")).toBeUndefined();
  });

  it("starts again a transient sibling that had ended normally (OTP restarts the whole list)", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_all", intensity: 5 },
      children: [...workers(["a"], journal), ...workers(["b"], journal, { restart: "transient" })],
      clock: new SimulatedClock(),
    });
    sup.send("b", { type: "finish" });
    expect(sup.tree().children?.[1]?.status).toBe("stopped");
    journal.length = 0;

    sup.send("a", { type: "crash" });

    expect(journal).toEqual(["start:a", "start:b"]);
    expect(sup.tree().children?.[1]?.status).toBe("running");
  });
});
