import { afterAll, describe, expect, it } from "vitest";
import { SimulatedClock } from "xstate";
import { HeldMail } from "../../../src/outbox/held-mail.js";
import { openStore } from "../../../src/store/open.js";
import { Counters } from "../../../src/telemetry/counters.js";
import { silentLogger } from "../../../src/telemetry/log.js";
import { notification, tempDir } from "./temp-store.js";

// Durable mode: bounced notifications survive a restart of the daemon.

describe("held mail in the state file", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  const heldMail = (store: ReturnType<typeof openStore>) => {
    const held = new HeldMail({
      clock: new SimulatedClock(),
      backoff: () => 1_000,
      capacity: 100,
      counters: new Counters(),
      logger: silentLogger,
      table: store.held,
    });
    held.restore();
    return held;
  };

  it("comes back, in order, after a reopen, and leaves the file once sent", () => {
    const path = dir.file();
    const first = openStore(path);
    const held = heldMail(first);
    for (const i of [1, 2, 3]) held.hold(notification(i));
    first.close();

    const second = openStore(path);
    const restored = heldMail(second);
    expect(restored.size).toBe(3);
    expect(restored.isHeld("world@example.com")).toBe(true);
    restored.release("world@example.com", "online");
    const sent = [];
    for (let n = restored.peekReleased(); n; n = restored.peekReleased()) {
      sent.push(n);
      restored.shiftReleased();
    }
    expect(sent).toEqual([notification(1), notification(2), notification(3)]);
    expect(second.held.load()).toEqual([]);
    second.close();
  });
});
