import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { dynamicSupervisorLogic } from "../../../src/otp/dynamic-supervisor.js";
import { supervisorLogic } from "../../../src/otp/supervisor.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { worker, workers } from "./children.js";

function startTree() {
  const clock = new SimulatedClock();
  const sup = startSupervisor({
    flags: { strategy: "one_for_one", intensity: 10, backoff: { initial: 1000, max: 1000 } },
    children: [
      ...workers(["config"], []),
      {
        id: "xmpp",
        logic: supervisorLogic(
          { strategy: "rest_for_one", intensity: 10 },
          workers(["conn", "router"], []),
        ),
      },
      { id: "sessions", logic: dynamicSupervisorLogic({}, { logic: worker }) },
    ],
    clock,
  });
  sup.pool("sessions")?.startChild("alice@x", { name: "alice" });
  return { sup, clock };
}

describe("tree()", () => {
  it("shows the whole live tree as plain data", () => {
    const { sup } = startTree();
    const tree = sup.tree();

    expect(tree).toEqual({
      id: "root",
      type: "supervisor",
      status: "running",
      restarts: 0,
      children: [
        { id: "config", type: "worker", status: "running", restarts: 0 },
        {
          id: "xmpp",
          type: "supervisor",
          status: "running",
          restarts: 0,
          children: [
            { id: "conn", type: "worker", status: "running", restarts: 0 },
            { id: "router", type: "worker", status: "running", restarts: 0 },
          ],
        },
        {
          id: "sessions",
          type: "supervisor",
          status: "running",
          restarts: 0,
          children: [{ id: "alice@x", type: "worker", status: "running", restarts: 0 }],
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(tree))).toEqual(tree);
  });

  it("shows a child waiting out its backoff as restarting, then running again", () => {
    const { sup, clock } = startTree();
    sup.send("config", { type: "crash" });
    expect(sup.tree().children?.[0]).toMatchObject({ status: "restarting", restarts: 0 });

    clock.increment(1000);
    expect(sup.tree().children?.[0]).toMatchObject({ status: "running", restarts: 1 });
  });

  it("counts restarts deep in the tree and finds the newest actor there", () => {
    const { sup } = startTree();
    const router = sup.whereis("router");
    sup.send("conn", { type: "crash" });

    expect(sup.whereis("router")).not.toBe(router);
    expect(sup.tree().children?.[1]?.children?.map((c) => c.restarts)).toEqual([1, 1]);
  });

  it("is a copy: changing it changes nothing", () => {
    const { sup } = startTree();
    const first = sup.tree().children?.[0] as { status: string };
    first.status = "failed";
    expect(sup.tree().children?.[0]?.status).toBe("running");
  });

  it("shows everything stopped after shutdown", async () => {
    const { sup } = startTree();
    await sup.shutdown();
    const tree = sup.tree();
    expect(tree.status).toBe("stopped");
    expect(tree.children?.map((c) => c.status)).toEqual(["stopped", "stopped", "stopped"]);
    expect(sup.whereis("conn")).toBeUndefined();
  });
});
