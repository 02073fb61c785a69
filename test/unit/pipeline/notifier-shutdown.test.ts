import type { Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { Mailbox } from "../../../src/outbox/mailbox.js";
import { type Notification, newNotification } from "../../../src/protocol/notification.js";
import { Counters } from "../../../src/telemetry/counters.js";
import type { Link } from "../../../src/xmpp/component-link.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer, settle } from "../../support/memory-link.js";

// Shutdown while a write is in flight: the write completes only after the
// shutdown event. The drain must not start a second delivery on the same head
// (which sent 64 twice and 64 never), and must go on once the write is done.

/** A server whose writes are taken only once the test opens the gate. */
class GatedServer extends MemoryServer {
  private release: () => void = () => {};
  private gate: Promise<void> = new Promise((r) => {
    this.release = r;
  });
  /** Writes started, taken or not. */
  writes = 0;

  open(): void {
    this.release();
  }

  override async send(el: Element): Promise<void> {
    this.writes++;
    await this.gate;
    return super.send(el);
  }

  override async sendAll(stanzas: readonly string[]): Promise<void> {
    this.writes++;
    await this.gate;
    return super.sendAll(stanzas);
  }
}

/** The same server seen without `sendAll`: every notification goes the single-send path. */
function singleSends(server: GatedServer): Link {
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

function queued(n: number): { mailbox: Mailbox<Notification>; traces: string[] } {
  const mailbox = new Mailbox<Notification>(1_000);
  const traces: string[] = [];
  for (let i = 0; i < n; i++) {
    const note = newNotification(
      { full: `u@h/${i}`, bare: "u@h", domain: "h" },
      "available",
      "world",
      0,
    );
    traces.push(note.trace);
    mailbox.offer(note);
  }
  return { mailbox, traces };
}

async function shutdownDuringWrite(link: (server: GatedServer) => Link) {
  const server = new GatedServer();
  const { mailbox, traces } = queued(130);
  const { logger } = logSink();
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
          link: link(server),
          from: () => "component",
          privileges: () => undefined,
          counters: new Counters(),
          logger,
        }),
        shutdown: 10_000,
      },
    ],
  });
  server.connect();
  await settle();
  expect(server.writes).toBe(1);
  const stopped = supervisor.shutdown();
  await settle();
  server.open();
  await stopped;
  return { sent: server.messages().map((m) => m.attrs.id), traces, mailbox };
}

describe("shutdown during an in-flight write", () => {
  it("sends every one of 130 queued notifications exactly once, in order (runs)", async () => {
    const { sent, traces, mailbox } = await shutdownDuringWrite((s) => s);
    expect(sent).toEqual(traces);
    expect(mailbox.size).toBe(0);
  });

  it("sends every one of 130 queued notifications exactly once, in order (single sends)", async () => {
    const { sent, traces, mailbox } = await shutdownDuringWrite(singleSends);
    expect(sent).toEqual(traces);
    expect(mailbox.size).toBe(0);
  });
});
