import { describe, expect, it } from "vitest";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { settle } from "../../support/memory-link.js";
import { advertisement, available, setup } from "./setup.js";

// notify.from = "user" needs XEP-0356 message=outgoing on this connection;
// without it the daemon says it falls back to the component domain, and does.

const PRESENCE = "<perm access='presence' type='managed_entity'/>";
const OUTGOING = "<perm access='message' type='outgoing'/>";

describe('notify.from = "user"', () => {
  it("falls back to the component domain when the server did not grant message=outgoing, as the log says", async () => {
    const t = setup({ notify: { from: "user" }, advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("localhost", PRESENCE));
    t.server.deliver(available("u@localhost/r"));
    await settle();
    const [message, ...rest] = t.server.messages();
    expect(rest).toEqual([]);
    expect(message?.attrs).toMatchObject({ from: "presence.localhost", to: "world@localhost" });
    expect(message?.getChild("event", NS_FLUX)).toBeDefined();
    expect(t.notified()).toEqual([{ user: "u@localhost/r", presence: "available" }]);
    expect(t.records.some((r) => String(r.msg).includes("sending from the component domain"))).toBe(
      true,
    );
  });

  it("batches from the component domain too while it falls back", async () => {
    const t = setup({ notify: { from: "user", batch: 10 }, advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("localhost", PRESENCE));
    for (const r of ["a", "b", "c"]) t.server.deliver(available(`u@localhost/${r}`));
    await settle();
    expect(t.server.messages().length).toBeLessThan(3);
  });

  it("wraps notifications in <privilege> when message=outgoing is granted on this connection", async () => {
    const t = setup({ notify: { from: "user" }, advertise: [] });
    t.server.connect();
    t.server.deliver(advertisement("localhost", PRESENCE + OUTGOING));
    t.server.deliver(available("u@localhost/r"));
    await settle();
    const [message] = t.server.messages();
    expect(message?.attrs).toMatchObject({ from: "presence.localhost", to: "localhost" });
    expect(message?.getChild("privilege")).toBeDefined();
  });
});
