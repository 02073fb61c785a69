import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { workers } from "./children.js";

describe("restart_one_for_one", () => {
  it("restarts only the child that crashed", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: workers(["a", "b", "c"], journal),
      clock: new SimulatedClock(),
    });
    const [a, b, c] = ["a", "b", "c"].map((id) => sup.whereis(id));

    sup.send("b", { type: "crash" });

    expect(journal).toEqual(["start:a", "start:b", "start:c", "start:b"]);
    expect(sup.whereis("a")).toBe(a);
    expect(sup.whereis("c")).toBe(c);
    expect(sup.whereis("b")).not.toBe(b);
    expect(sup.whereis("b")?.getSnapshot().status).toBe("active");
    expect(b?.getSnapshot().status).toBe("error");
  });

  it("hands out the restarted actor, which receives events sent by id", () => {
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: workers(["a"], []),
      clock: new SimulatedClock(),
    });
    sup.send("a", { type: "crash" });
    sup.send("a", { type: "ping" });
    sup.send("a", { type: "ping" });

    expect(sup.whereis("a")?.getSnapshot().context.pings).toBe(2);
    expect(sup.tree().children?.[0]).toEqual({
      id: "a",
      type: "worker",
      status: "running",
      restarts: 1,
    });
  });

  it("restarts a child as often as the intensity allows", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 3, period: 1000 },
      children: workers(["a", "b"], journal),
      clock: new SimulatedClock(),
    });
    for (let i = 0; i < 3; i++) sup.send("a", { type: "crash" });

    expect(journal.filter((line) => line === "start:a")).toHaveLength(4);
    expect(journal.filter((line) => line === "start:b")).toHaveLength(1);
    expect(sup.tree().status).toBe("running");
  });
});
