import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { Mailbox } from "../../../src/outbox/mailbox.js";
import { type Notification, NS_FLUX, newNotification } from "../../../src/protocol/notification.js";
import { Counters } from "../../../src/telemetry/counters.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";

// The notifier isolates failures: a crash inside it is a restart by its
// supervisor, and the mailbox it drains outlives every incarnation.

describe("notifier under its supervisor", () => {
  it("restarts after a crash and delivers every queued notification, in order", async () => {
    const server = new MemoryServer();
    const mailbox = new Mailbox<Notification>(10);
    const { logger, records } = logSink();
    let faults = 1;
    const supervisor = startSupervisor({
      name: "test-root",
      clock: new SimulatedClock(),
      logger,
      flags: { strategy: "one_for_one", intensity: 3, period: 10_000 },
      children: [
        {
          id: "notifier",
          logic: notifierLogic({
            mailbox,
            link: server,
            from: () => "component",
            // A bug the first time a stanza is built: the actor fails.
            privileges: () => {
              if (faults-- > 0) throw new Error("injected fault while building a stanza");
              return undefined;
            },
            counters: new Counters(),
            logger,
          }),
        },
      ],
    });
    for (const r of ["a", "b", "c"]) {
      mailbox.offer(
        newNotification({ full: `u@h/${r}`, bare: "u@h", domain: "h" }, "available", "world", 0),
      );
    }
    server.connect();
    await settle();

    const users = server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args.user);
    expect(users).toEqual(["u@h/a", "u@h/b", "u@h/c"]);
    expect(mailbox.size).toBe(0);
    const crashes = records.filter((r) => r.msg === "child crashed");
    expect(crashes).toHaveLength(1);
    // The report counts the restarts before this crash; the tree counts them all.
    expect(crashes[0]).toMatchObject({ supervisor: "test-root", child: "notifier", restarts: 0 });
    expect(crashes[0]?.reason).toMatchObject({ message: "injected fault while building a stanza" });
    expect(supervisor.tree().children?.[0]).toMatchObject({
      id: "notifier",
      status: "running",
      restarts: 1,
    });
    await supervisor.shutdown();
  });
});

describe("notifier failing on every Nth send", () => {
  it("loses nothing and keeps the order across all its restarts", async () => {
    // Promise: each failure is a restart by the supervisor (within its
    // intensity), the mailbox outlives them, every notification arrives once,
    // in order.
    const server = new MemoryServer();
    const mailbox = new Mailbox<Notification>(1_000);
    const clock = new SimulatedClock();
    const { logger, records } = logSink();
    let sends = 0;
    const supervisor = startSupervisor({
      name: "test-root",
      clock,
      logger,
      // Tolerates this fault rate: 28 restarts in the run.
      flags: { strategy: "one_for_one", intensity: 50, period: 10_000 },
      children: [
        {
          id: "notifier",
          logic: notifierLogic({
            mailbox,
            link: server,
            from: () => "component",
            privileges: () => {
              if (++sends % 7 === 0) throw new Error(`injected fault on send ${sends}`);
              return undefined;
            },
            counters: new Counters(),
            logger,
          }),
        },
      ],
    });
    const users = Array.from({ length: 200 }, (_, i) => `u@h/${i}`);
    for (const full of users) {
      mailbox.offer(newNotification({ full, bare: "u@h", domain: "h" }, "available", "world", 0));
    }
    server.connect();
    await settle(200);
    const delivered = server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args.user);
    expect(delivered).toEqual(users);
    const crashes = records.filter((r) => r.msg === "child crashed");
    expect(crashes.length).toBe(Math.floor(sends / 7));
    expect(crashes.length).toBeGreaterThanOrEqual(28);
    expect(supervisor.tree().status).toBe("running");
    await supervisor.shutdown();
  });
});
