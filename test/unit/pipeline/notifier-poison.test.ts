import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { DeadLetters } from "../../../src/outbox/dead-letters.js";
import { Mailbox } from "../../../src/outbox/mailbox.js";
import { type Notification, NS_FLUX, newNotification } from "../../../src/protocol/notification.js";
import { Counters } from "../../../src/telemetry/counters.js";
import type { Link } from "../../../src/xmpp/component-link.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";

// A notification whose stanza always throws when built crashed every
// notifier restart until the root gave up (exit 70), losing the queue. After
// a few failures on the same head it is set aside and the rest goes on.

function withoutRuns(server: MemoryServer): Link {
  return {
    domain: server.domain,
    get online() {
      return server.online;
    },
    send: (el) => server.send(el),
    on: (event: string, fn: () => void) => server.on(event, fn),
    off: (event: string, fn: () => void) => server.off(event, fn),
  } as Link;
}

describe.each([
  ["runs", (s: MemoryServer): Link => s],
  ["single sends", withoutRuns],
])("a poison notification (%s)", (_path, linkOf) => {
  it("is set aside, counted and logged once; the root does not give up and the others go out in order", async () => {
    const server = new MemoryServer();
    const mailbox = new Mailbox<Notification>(100);
    const { logger, records } = logSink();
    const counters = new Counters();
    const deadLetters = new DeadLetters();
    const users = Array.from({ length: 10 }, (_, i) => `u@h/${i}`);
    const notes = users.map((full) =>
      newNotification({ full, bare: "u@h", domain: "h" }, "available", "world", 0),
    );
    const poison = notes[4]?.trace;
    const supervisor = startSupervisor({
      name: "test-root",
      clock: new SimulatedClock(),
      logger,
      // The daemon's own flags: 5 restarts in 10 s.
      flags: { strategy: "one_for_one", intensity: 5, period: 10_000 },
      children: [
        {
          id: "notifier",
          logic: notifierLogic({
            mailbox,
            link: linkOf(server),
            from: () => "component",
            privileges: () => undefined,
            counters,
            logger,
            deadLetters,
            beforeSend: (n) => {
              if (n.trace === poison) throw new Error("injected: this stanza never builds");
            },
          }),
        },
      ],
    });
    for (const n of notes) mailbox.offer(n);
    server.connect();
    await settle(100);

    const delivered = server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args.user);
    expect(delivered).toEqual(users.filter((_, i) => i !== 4));
    expect(mailbox.size).toBe(0);
    expect(supervisor.tree().status).toBe("running");
    expect(counters.get("notifications_dead_lettered")).toBe(1);
    expect(deadLetters.list().map((l) => l.notification.trace)).toEqual([poison]);
    const setAside = records.filter((r) => String(r.msg).includes("set aside"));
    expect(setAside).toHaveLength(1);
    expect(setAside[0]).toMatchObject({
      trace: poison,
      failures: 3,
      event: "presence_notify_error",
    });
    await supervisor.shutdown();
  });
});
