import { describe, expect, it } from "vitest";
import { displayValues } from "../../../src/config/describe.js";
import { resolveConfig } from "../../../src/config/load.js";
import { describeChanges, LIVE_KEYS, planReload } from "../../../src/config/reload.js";
import { CONFIG_KEYS, type ConfigKey } from "../../../src/config/schema.js";

// SIGHUP's decision, pure: the running and the new configuration in, what is
// applied and what waits for a restart out.

function config(lines: string[]) {
  const text = ["[component]", 'secret = "s3cret"', ...lines].join("\n");
  return resolveConfig({
    text,
    path: "/etc/presence-notify/presence-notify.toml",
    env: {},
    readFile: () => "",
  }).config;
}

const base = config([]);

describe("planReload", () => {
  it("reports nothing for an unchanged file", () => {
    const plan = planReload(base, config([]));
    expect(plan.live).toEqual([]);
    expect(plan.restartOnly).toEqual([]);
    expect(displayValues(plan.applied)).toEqual(displayValues(base));
  });

  it("applies filter, server user, limit and log level changes", () => {
    const next = config([
      "[notify]",
      'server_user = "world"',
      'include = ["flux.*"]',
      'exclude = ["flux.bot.*"]',
      'domains = ["example.com"]',
      "max_rate = 50",
      "user_rate = 3",
      'flap_window = "2s"',
      "batch = 10",
      "[mailbox]",
      'max_age = "5m"',
      "[log]",
      'level = "debug"',
    ]);
    const plan = planReload(base, next);
    expect(plan.restartOnly).toEqual([]);
    expect(plan.live.map((c) => c.key).sort()).toEqual([
      "log.level",
      "mailbox.max_age",
      "notify.batch",
      "notify.domains",
      "notify.exclude",
      "notify.flap_window",
      "notify.include",
      "notify.max_rate",
      "notify.server_user",
      "notify.user_rate",
    ]);
    expect(plan.applied.notify).toEqual(next.notify);
    expect(plan.applied.mailbox.maxAgeMs).toBe(300_000);
    expect(plan.applied.log.level).toBe("debug");
    expect(describeChanges(plan.live)["notify.include"]).toBe('["*"] -> ["flux.*"]');
  });

  it("keeps restart-only keys at their running value and names each of them", () => {
    const next = config([
      'service = "xmpp://127.0.0.1:5348"',
      'domain = "presence.example.com"',
      "[notify]",
      'sequence = "session"',
      'include = ["a*"]',
      "[mailbox]",
      "capacity = 10",
      "[durability]",
      'mode = "sqlite"',
      "[shutdown]",
      'drain_timeout = "30s"',
    ]);
    const plan = planReload(base, next);
    expect(plan.live.map((c) => c.key)).toEqual(["notify.include"]);
    expect(plan.restartOnly.map((c) => c.key).sort()).toEqual([
      "component.domain",
      "component.service",
      "durability.mode",
      "mailbox.capacity",
      "notify.sequence",
      "shutdown.drain_timeout",
    ]);
    expect(plan.applied.component).toBe(base.component);
    expect(plan.applied.mailbox.capacity).toBe(base.mailbox.capacity);
    expect(plan.applied.notify.sequence).toBe("off");
    expect(plan.applied.durability).toBe(base.durability);
    expect(plan.applied.notify.include).toEqual(["a*"]);
  });

  it("notices a changed secret without ever showing it", () => {
    const next = resolveConfig({
      text: '[component]\nsecret = "other-secret"\n',
      path: "/x.toml",
      env: {},
      readFile: () => "",
    }).config;
    const plan = planReload(base, next);
    expect(plan.restartOnly).toEqual([
      { key: "component.secret", from: "[redacted]", to: "[redacted]" },
    ]);
    expect(plan.applied.component.secret.value()).toBe("s3cret");
    expect(JSON.stringify(plan)).not.toContain("other-secret");
  });

  it.each([
    ["admin.token", "[admin]", "token"],
    ["signing.key", "[signing]", "key"],
    ["pseudonyms.key", "[pseudonyms]", "key"],
  ])("a changed %s is named as needing a restart, not 'nothing to apply'", (key, section, name) => {
    // Secrets display as [redacted] on both sides: compared by display, a
    // new value read as no change and the old secret stayed, unannounced.
    const before = config([section, `${name} = "${"a".repeat(32)}"`]);
    const after = config([section, `${name} = "${"b".repeat(32)}"`]);
    const plan = planReload(before, after);
    expect(plan.restartOnly).toEqual([{ key, from: "[redacted]", to: "[redacted]" }]);
    expect(plan.live).toEqual([]);
    expect(JSON.stringify(plan)).not.toContain("b".repeat(32));
    const same = planReload(before, config([section, `${name} = "${"a".repeat(32)}"`]));
    expect(same.restartOnly).toEqual([]);
  });

  // Guards the hand-written merge against LIVE_KEYS: a key added to one and
  // not the other would be reported applied while the daemon kept the old
  // value, or the reverse.
  it("applies exactly the live keys, for every key of the configuration", () => {
    const changedAll = config([
      'service = "xmpp://10.0.0.1:5400"',
      'domain = "p.example.org"',
      "[notify]",
      'server_user = "w"',
      'include = ["x*"]',
      'exclude = ["y*"]',
      'from = "user"',
      'domains = ["example.org"]',
      "max_rate = 9",
      'flap_window = "3s"',
      'sequence = "session"',
      'fields = ["ts", "reason"]',
      'level = "user"',
      "batch = 4",
      "user_rate = 2",
      "[reconnect]",
      'initial = "1s"',
      'max = "9s"',
      "[resync]",
      'ping_timeout = "3s"',
      'ejabberd_api = "http://127.0.0.1:1/api"',
      "[liveness]",
      'interval = "7s"',
      'timeout = "2s"',
      "max_rate = 7",
      "[mailbox]",
      "capacity = 7",
      'max_age = "7m"',
      "[log]",
      'level = "warn"',
      "redact_jids = true",
      "[shutdown]",
      'drain_timeout = "7s"',
      "[durability]",
      'mode = "sqlite"',
      'path = "/tmp/other.db"',
      'synchronous = "full"',
      "[standby]",
      "enabled = true",
      'poll_interval = "3s"',
      "[admin]",
      'listen = "127.0.0.1:9999"',
      'token = "admin-token"',
      "pseudonymise = true",
      "[signing]",
      'key = "0123456789abcdef0123456789abcdef"',
      'key_id = "k2"',
      "[source.rabbitmq]",
      'url = "amqp://u:p@127.0.0.1:5672/"',
      'exchange = "presence2"',
      "exchange_durable = true",
      'queue = "q2"',
      "single_active_consumer = true",
      "prefetch = 7",
    ]);
    const plan = planReload(base, changedAll);
    const applied = displayValues(plan.applied);
    const before = displayValues(base);
    const after = displayValues(changedAll);
    for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
      // The secret has its own test; receipts need from = "component", changed here;
      // graphql_url excludes resync.ejabberd_api, changed here (its own test below);
      // snapshot excludes level = "user", changed here (its own test below).
      const apart = [
        "component.secret",
        "notify.receipt_timeout",
        "pseudonyms.key",
        "source.rabbitmq.graphql_url",
        "notify.snapshot",
      ];
      if (apart.includes(key)) continue;
      expect(before[key], key).not.toBe(after[key]);
      expect(applied[key], key).toBe(LIVE_KEYS.has(key) ? after[key] : before[key]);
    }
    expect(plan.live.length + plan.restartOnly.length).toBe(Object.keys(CONFIG_KEYS).length - 5);
  });

  it("applies notify.snapshot as its schema entry says (live or at the next start)", () => {
    const plan = planReload(base, config(["[notify]", "snapshot = true"]));
    const changed = [...plan.live, ...plan.restartOnly].map((c) => c.key);
    expect(changed).toEqual(["notify.snapshot"]);
    expect(displayValues(plan.applied)["notify.snapshot"]).toBe(
      LIVE_KEYS.has("notify.snapshot") ? "true" : "false",
    );
  });

  it("keeps the MongooseIM session list as built at start, comparing the URL's password too", () => {
    const withApi = config(["[source.rabbitmq]", 'graphql_url = "http://a:one@127.0.0.1:1/g"']);
    const plan = planReload(
      withApi,
      config(["[source.rabbitmq]", 'graphql_url = "http://a:two@127.0.0.1:1/g"']),
    );
    expect(plan.restartOnly.map((c) => c.key)).toEqual(["source.rabbitmq.graphql_url"]);
    expect(plan.applied.source.rabbitmq.graphqlUrl?.value()).toBe("http://a:one@127.0.0.1:1/g");
    expect(JSON.stringify(plan)).not.toMatch(/a:one@|a:two@/);
  });

  it("keeps receipts as they were built at start: notify.receipt_timeout needs a restart", () => {
    const plan = planReload(base, config(["[notify]", 'receipt_timeout = "30s"']));
    expect(plan.restartOnly.map((c) => c.key)).toEqual(["notify.receipt_timeout"]);
    expect(plan.applied.notify.receiptTimeoutMs).toBe(base.notify.receiptTimeoutMs);
  });

  it("keeps notify.from while payload pseudonyms are on", () => {
    const on = config(["[pseudonyms]", 'key = "0123456789abcdef0123456789abcdef"']);
    const plan = planReload(on, config(["[notify]", 'from = "user"']));
    expect(plan.restartOnly.map((c) => c.key).sort()).toEqual(["notify.from", "pseudonyms.key"]);
    expect(plan.applied.notify.from).toBe("component");
  });

  it("keeps notify.from while receipts are on (they need the component as sender)", () => {
    const withReceipts = config(["[notify]", 'receipt_timeout = "30s"']);
    const plan = planReload(withReceipts, config(["[notify]", 'from = "user"']));
    expect(plan.restartOnly.map((c) => c.key).sort()).toEqual([
      "notify.from",
      "notify.receipt_timeout",
    ]);
    expect(plan.applied.notify.from).toBe("component");
    expect(plan.applied.notify.receiptTimeoutMs).toBe(30_000);
  });
});
