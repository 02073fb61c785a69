import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import type { RestartType } from "../../../src/otp/supervisor-spec.js";
import { logSink } from "../../support/log-sink.js";
import { workers } from "./children.js";

// OTP: permanent is always restarted, transient only after an abnormal exit,
// temporary never (and is forgotten). "quit" ends with the shutdown reason.
const cases: [RestartType, "finish" | "quit" | "crash", "restarted" | "stopped" | "removed"][] = [
  ["permanent", "finish", "restarted"],
  ["permanent", "quit", "restarted"],
  ["permanent", "crash", "restarted"],
  ["transient", "finish", "stopped"],
  ["transient", "quit", "stopped"],
  ["transient", "crash", "restarted"],
  ["temporary", "finish", "removed"],
  ["temporary", "quit", "removed"],
  ["temporary", "crash", "removed"],
];

describe("restart types", () => {
  it.each(cases)("a %s child that gets %s is %s", (restart, exit, outcome) => {
    const journal: string[] = [];
    const { logger, records } = logSink();
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: workers(["w"], journal, { restart }),
      clock: new SimulatedClock(),
      logger,
    });

    sup.send("w", { type: exit });

    const node = sup.tree().children?.find((c) => c.id === "w");
    if (outcome === "removed") expect(node).toBeUndefined();
    else expect(node?.status).toBe(outcome === "restarted" ? "running" : "stopped");
    expect(journal.filter((line) => line === "start:w")).toHaveLength(
      outcome === "restarted" ? 2 : 1,
    );
    const crashes = records.filter((r) => r.msg === "child crashed");
    expect(crashes).toHaveLength(exit === "crash" ? 1 : 0);
  });

  it("counts a normal exit of a permanent child against the intensity", () => {
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 1 },
      children: workers(["w"], []),
      clock: new SimulatedClock(),
    });
    sup.send("w", { type: "finish" });
    sup.send("w", { type: "finish" });

    expect(sup.tree().status).toBe("failed");
  });

  it("treats a child stopped from outside as killed, an abnormal exit", () => {
    const sup = startSupervisor({
      flags: { strategy: "one_for_one", intensity: 5 },
      children: workers(["w"], [], { restart: "transient" }),
      clock: new SimulatedClock(),
    });
    const first = sup.whereis("w");
    first?.stop();

    expect(sup.whereis("w")).not.toBe(first);
    expect(sup.tree().children?.[0]).toMatchObject({ status: "running", restarts: 1 });
  });
});
