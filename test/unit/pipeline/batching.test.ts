import { describe, expect, it } from "vitest";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { settle } from "../../support/memory-link.js";
import { available, setup } from "./setup.js";

// notify.batch: notifications queued for one server user go out together.

const payloads = (t: ReturnType<typeof setup>) =>
  t.server.messages().map((m) => ({
    id: m.attrs.id,
    to: m.attrs.to,
    json: JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}"),
  }));

describe("batching", () => {
  it("sends up to `batch` queued notifications for one server user per message, in order", async () => {
    const t = setup({ notify: { batch: 3 } });
    t.server.connect();
    t.server.drop(); // let them queue up
    for (let i = 0; i < 7; i++) t.server.deliver(available(`u${i}@localhost/r`));
    t.server.deliver(available("v@example.test/r"));
    t.server.connect();
    await settle();
    const sent = payloads(t);
    expect(sent.map((p) => p.to)).toEqual([
      "world@localhost",
      "world@localhost",
      "world@localhost",
      "world@example.test",
    ]);
    const batches = sent.slice(0, 2).map((p) => p.json);
    for (const [i, b] of batches.entries()) {
      expect(b.type).toBe("PRESENCE_DID_CHANGE_BATCH");
      expect(b.trace).toBe(sent[i]?.id);
    }
    expect(batches.map((b) => b.args.changes.map((c: { user: string }) => c.user))).toEqual([
      ["u0@localhost/r", "u1@localhost/r", "u2@localhost/r"],
      ["u3@localhost/r", "u4@localhost/r", "u5@localhost/r"],
    ]);
    // One alone goes in the default format.
    expect(sent[2]?.json).toMatchObject({
      type: "PRESENCE_DID_CHANGE",
      args: { user: "u6@localhost/r" },
    });
    expect(sent[3]?.json).toMatchObject({
      type: "PRESENCE_DID_CHANGE",
      args: { user: "v@example.test/r" },
    });
  });

  it("holds every notification of a bounced batch and sends them again in order", async () => {
    const t = setup({ notify: { batch: 5 } });
    t.server.offline.add("world@localhost");
    t.server.connect();
    t.server.drop();
    for (let i = 0; i < 4; i++) t.server.deliver(available(`u${i}@localhost/r`));
    t.server.connect();
    await settle();
    expect(t.service.outbox.held.size).toBe(4);
    t.server.offline.delete("world@localhost");
    t.server.deliver(available("world@localhost/backend"));
    await settle();
    expect(t.notified().map((n) => n.user)).toEqual(
      Array.from({ length: 4 }, (_, i) => `u${i}@localhost/r`),
    );
  });
});
