import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../../src/config/load.js";
import { Secret } from "../../../src/config/redacted.js";
import { planReload } from "../../../src/config/reload.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import { payloadPseudonym } from "../../../src/protocol/pseudonym.js";
import { verifyNotification } from "../../../src/protocol/signature.js";
import { settle } from "../../support/memory-link.js";
import { ADVERTISEMENT, online, reconnect, stamped } from "./resync-setup.js";
import { available, setup, unavailable } from "./setup.js";

// notify.level = "user": one notification per user (bare JID), its first
// resource online and its last offline, with args.resources; the session
// machines stay the truth and every other opt-in works per change.

const USER = { level: "user" as const };
const KEY = "0123456789abcdef0123456789abcdef";

describe("notify.level = user", () => {
  it("tells a user's first resource online and its last offline, nothing between", async () => {
    const t = setup({ notify: USER });
    t.server.connect();
    t.server.deliver(available("alice@localhost/phone"));
    t.server.deliver(available("alice@localhost/laptop"));
    t.server.deliver(available("alice@localhost/phone", "<show>away</show>"));
    t.server.deliver(unavailable("alice@localhost/phone"));
    t.server.deliver(available("alice@localhost/phone"));
    t.server.deliver(unavailable("alice@localhost/laptop"));
    t.server.deliver(unavailable("alice@localhost/phone"));
    await settle();
    expect(t.notified()).toEqual([
      { user: "alice@localhost", presence: "available", resources: 1 },
      { user: "alice@localhost", presence: "unavailable", resources: 0 },
    ]);
    expect(t.server.messages().map((m) => m.attrs.to)).toEqual([
      "world@localhost",
      "world@localhost",
    ]);
  });

  it("gives each user notification the time and reason of the session change that made it", async () => {
    const t = setup({ notify: { ...USER, fields: ["ts", "reason"] } });
    t.server.connect();
    t.clock.increment(1_000);
    t.server.deliver(available("bob@localhost/a"));
    t.clock.increment(1_000);
    t.server.deliver(available("bob@localhost/b"));
    t.server.deliver(unavailable("bob@localhost/a"));
    t.clock.increment(1_000);
    t.server.deliver(
      `<presence type="unavailable" from="bob@localhost/b"><status>Disconnected: timeout</status></presence>`,
    );
    await settle();
    expect(t.notified()).toEqual([
      { user: "bob@localhost", presence: "available", ts: 1_000, reason: "login", resources: 1 },
      { user: "bob@localhost", presence: "unavailable", ts: 3_000, reason: "server", resources: 0 },
    ]);
  });

  it("numbers a user's notifications per bare JID with notify.sequence", async () => {
    const t = setup({ notify: { ...USER, sequence: "session" } });
    t.server.connect();
    for (let round = 0; round < 2; round++) {
      t.server.deliver(available("carol@localhost/x"));
      t.server.deliver(available("carol@localhost/y"));
      t.server.deliver(unavailable("carol@localhost/x"));
      t.server.deliver(unavailable("carol@localhost/y"));
    }
    t.server.deliver(available("dan@localhost/x"));
    await settle();
    expect(t.notified().map((a) => [a.user, a.presence, a.seq])).toEqual([
      ["carol@localhost", "available", 1],
      ["carol@localhost", "unavailable", 2],
      ["carol@localhost", "available", 3],
      ["carol@localhost", "unavailable", 4],
      ["dan@localhost", "available", 1],
    ]);
  });

  it("shows the bare JID's pseudonym, signs each change, and batches them", async () => {
    const t = setup({
      notify: { ...USER, batch: 10, fields: ["reason"] },
      pseudonyms: { key: new Secret(KEY) },
      signing: { key: new Secret(KEY), keyId: "k1" },
    });
    for (const u of ["erin", "fay"]) {
      t.server.deliver(available(`${u}@localhost/1`));
      t.server.deliver(available(`${u}@localhost/2`));
    }
    t.server.connect();
    await settle();
    const payloads = t.server
      .messages()
      .map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}"));
    expect(payloads).toHaveLength(1);
    const [batch] = payloads;
    expect(batch.type).toBe("PRESENCE_DID_CHANGE_BATCH");
    const pseudonym = payloadPseudonym(KEY);
    expect(
      batch.args.changes.map(({ trace: _, sig: __, ...c }: Record<string, unknown>) => c),
    ).toEqual([
      { user: pseudonym("erin@localhost"), presence: "available", reason: "login", resources: 1 },
      { user: pseudonym("fay@localhost"), presence: "available", reason: "login", resources: 1 },
    ]);
    expect(pseudonym("erin@localhost")).toMatch(/^u-[0-9a-f]{16}@localhost$/);
    expect(verifyNotification(batch, "world@localhost", new Map([["k1", KEY]]))).toBe(true);
  });

  it("under flap damping, a resource flapping beside another, or a lone one, tells nothing", async () => {
    const t = setup({ notify: { ...USER, flapWindowMs: 2_000 } });
    t.server.connect();
    t.server.deliver(available("gil@localhost/desk"));
    t.clock.increment(2_000);
    await settle();
    for (let i = 0; i < 3; i++) {
      t.server.deliver(available("gil@localhost/phone"));
      t.server.deliver(unavailable("gil@localhost/phone"));
      t.server.deliver(available("hal@localhost/only"));
      t.server.deliver(unavailable("hal@localhost/only"));
    }
    t.clock.increment(5_000);
    await settle();
    expect(t.notified()).toEqual([{ user: "gil@localhost", presence: "available", resources: 1 }]);
  });

  it("under the per-user rate, ends telling the truth, alternating", async () => {
    const t = setup({ notify: { ...USER, userRate: 1 } });
    t.server.connect();
    for (const r of ["1", "2", "3"]) t.server.deliver(available(`ivy@localhost/${r}`));
    for (const r of ["3", "1", "2"]) t.server.deliver(unavailable(`ivy@localhost/${r}`));
    t.server.deliver(available("ivy@localhost/4"));
    for (let s = 0; s < 10; s++) {
      t.clock.increment(1_000);
      await settle();
    }
    const told = t.notified().map((a) => a.presence);
    expect(told.at(-1)).toBe("available");
    for (let i = 1; i < told.length; i++) expect(told[i]).not.toBe(told[i - 1]);
    expect(t.service.intake.registry.resourcesOf("ivy@localhost")).toBe(1);
  });

  it("after a reconnect, tells a user gone only when the replay kept none of its resources", async () => {
    const t = setup({ notify: { ...USER, fields: ["reason"] } });
    await online(t, "jo@localhost/a", "jo@localhost/b", "kim@localhost/a", "kim@localhost/b");
    reconnect(t, [ADVERTISEMENT, stamped("jo@localhost/a")]);
    t.clock.increment(1_000);
    await settle();
    expect(t.notified().slice(2)).toEqual([
      { user: "kim@localhost", presence: "unavailable", reason: "reconciliation", resources: 0 },
    ]);
    expect(t.service.intake.registry.resourcesOf("jo@localhost")).toBe(1);
  });

  it("is read at start: a reload reports notify.level as needing a restart, notify.fields as applied", () => {
    const load = (lines: string[]) =>
      resolveConfig({
        text: ['[component]\nsecret = "s"', "[notify]", ...lines].join("\n"),
        path: "/etc/presence-notify.toml",
        env: {},
        readFile: () => "",
      }).config;
    const plan = planReload(load([]), load(['level = "user"', 'fields = ["ts"]']));
    expect(plan.restartOnly.map((c) => c.key)).toEqual(["notify.level"]);
    expect(plan.live).toEqual([{ key: "notify.fields", from: "[]", to: '["ts"]' }]);
  });
});
