import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { stubborn, workers } from "./children.js";

describe("rest_for_one", () => {
  it("stops the younger children in reverse, then restarts the failed one and them in order", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 5 },
      children: workers(["a", "b", "c", "d"], journal),
      clock: new SimulatedClock(),
    });
    const a = sup.whereis("a");
    journal.length = 0;

    sup.send("b", { type: "crash" });

    expect(journal).toEqual(["stop:d", "stop:c", "start:b", "start:c", "start:d"]);
    expect(sup.whereis("a")).toBe(a);
    expect(sup.tree().children?.map((c) => c.restarts)).toEqual([0, 1, 1, 1]);
  });

  it("acts as one_for_one for the youngest child", () => {
    const journal: string[] = [];
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 5 },
      children: workers(["a", "b", "c"], journal),
      clock: new SimulatedClock(),
    });
    journal.length = 0;

    sup.send("c", { type: "crash" });

    expect(journal).toEqual(["start:c"]);
  });

  it("waits for each younger child to be gone before stopping the next or restarting", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 5 },
      children: [
        ...workers(["a", "b"], journal),
        { id: "c", logic: stubborn, input: { name: "c", journal }, shutdown: 1000 },
        ...workers(["d"], journal),
      ],
      clock,
    });
    journal.length = 0;

    sup.send("b", { type: "crash" });
    expect(journal).toEqual(["stop:d"]);
    expect(sup.tree().status).toBe("restarting");

    clock.increment(999);
    expect(journal).toEqual(["stop:d"]);

    clock.increment(1);
    expect(journal).toEqual(["stop:d", "killed:c", "start:b", "start:c", "start:d"]);
    expect(sup.tree().status).toBe("running");
  });

  it("handles a crash of an older child after the restart in progress, as OTP's mailbox would", () => {
    const journal: string[] = [];
    const clock = new SimulatedClock();
    const sup = startSupervisor({
      flags: { strategy: "rest_for_one", intensity: 5 },
      children: [
        ...workers(["a", "b"], journal),
        { id: "c", logic: stubborn, input: { name: "c", journal }, shutdown: 1000 },
        ...workers(["d"], journal),
      ],
      clock,
    });
    journal.length = 0;
    sup.send("b", { type: "crash" });
    sup.send("a", { type: "crash" });
    expect(journal).toEqual(["stop:d"]);

    clock.increment(1000);
    expect(journal).toEqual(["stop:d", "killed:c", "start:b", "start:c", "start:d", "stop:d"]);

    clock.increment(1000);
    expect(journal.slice(6)).toEqual([
      "killed:c",
      "stop:b",
      "start:a",
      "start:b",
      "start:c",
      "start:d",
    ]);
    expect(sup.tree().children?.map((c) => c.restarts)).toEqual([1, 2, 2, 2]);
  });
});
