import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/config/errors.js";
import { loadConfig, resolveConfig } from "../../../src/config/load.js";
import { CREDENTIALS_VARIABLE } from "../../../src/config/secret.js";
import { failure } from "../../support/config-failure.js";
import { logSink } from "../../support/log-sink.js";

const EXAMPLE = fileURLToPath(
  new URL("../../../config/presence-notify.example.toml", import.meta.url),
);
const PATH = "/etc/presence-notify/presence-notify.toml";

function noFiles(path: string): string {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
}

function resolve(
  text: string,
  env: Record<string, string | undefined> = {},
  readFile: (path: string) => string = noFiles,
) {
  return resolveConfig({ text, path: PATH, env, readFile });
}

const WITH_SECRET = '[component]\nsecret = "s3cret"\n';
const SECRET_ENV = { PRESENCE_NOTIFY_COMPONENT_SECRET: "s3cret" };

describe("the example file", () => {
  it("loads with a secret from the environment, and every value is the default", () => {
    const { config, sources } = loadConfig({
      path: EXAMPLE,
      env: { PRESENCE_NOTIFY_COMPONENT_SECRET: "s3cret" },
    });
    expect(config.component.service).toBe("xmpp://127.0.0.1:5347");
    expect(config.component.domain).toBe("presence.localhost");
    expect(config.component.secret.value()).toBe("s3cret");
    expect(config.notify).toEqual({
      serverUser: "server",
      include: ["*"],
      exclude: [],
      from: "component",
      domains: [],
      maxRate: 0,
      flapWindowMs: 0,
      sequence: "off",
      fields: [],
      level: "session",
      batch: 1,
      userRate: 0,
      receiptTimeoutMs: 0,
      snapshot: false,
    });
    expect(config.reconnect).toEqual({ initialMs: 500, maxMs: 30_000 });
    expect(config.resync).toEqual({ pingTimeoutMs: 10_000, ejabberdApi: "" });
    expect(config.mailbox).toEqual({ capacity: 100_000, maxAgeMs: 3_600_000 });
    expect(config.log).toEqual({ level: "info", redactJids: false });
    expect(config.shutdown).toEqual({ drainTimeoutMs: 5_000 });
    expect(sources["component.secret"]).toBe("env PRESENCE_NOTIFY_COMPONENT_SECRET");
    expect(sources["reconnect.initial"]).toBe("file");
    expect(sources["notify.server_user"]).toBe("default");
  });

  it("documents every key in a comment", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    for (const key of [
      "service",
      "domain",
      "secret",
      "secret_file",
      "server_user",
      "include",
      "exclude",
      "from",
      "domains",
      "initial",
      "max",
      "ping_timeout",
      "capacity",
      "level",
    ]) {
      expect(text).toMatch(new RegExp(`^#? ?${key} = `, "m"));
    }
  });

  it("is refused without a secret, with a sentence saying how to give one", () => {
    const err = failure(() => loadConfig({ path: EXAMPLE, env: {} }));
    expect(err._tag).toBe("ConfigError");
    expect(err.key).toBe("component.secret");
    expect(err.message).toMatch(/component\.secret is not set.*PRESENCE_NOTIFY_COMPONENT_SECRET/);
  });
});

describe("a full file", () => {
  it("resolves every key to the camelCase config with durations in ms", () => {
    const { config, sources } = resolve(`
[component]
service = "tcp://xmpp.internal:5275"
domain = "presence.example.com"
secret = "s3cret"
[notify]
server_user = "world"
include = ["flux.actor.*", "flux.sim.*"]
exclude = ["flux.actor.test?"]
from = "user"
domains = ["example.com"]
max_rate = 500
flap_window = "2s"
sequence = "session"
fields = ["reason", "ts"]
level = "session"
batch = 20
user_rate = 5
receipt_timeout = "off"
snapshot = true
[reconnect]
initial = "1s"
max = "5m"
[resync]
ping_timeout = "1h"
ejabberd_api = "http://127.0.0.1:5281/api"
[liveness]
interval = "45s"
timeout = "5s"
max_rate = 0
[mailbox]
capacity = 5
max_age = "10m"
[log]
level = "debug"
redact_jids = true
[shutdown]
drain_timeout = "2s"
[durability]
mode = "sqlite"
path = "state/presence.db"
synchronous = "full"
[standby]
enabled = true
poll_interval = "250ms"
[admin]
listen = "0.0.0.0:9464"
token = "t0ken"
pseudonymise = true
[signing]
key = "0123456789abcdef0123456789abcdef"
key_id = "2026-11"
[source.rabbitmq]
url = "amqp://pn:pw@127.0.0.1:5672/%2F"
exchange = "presence"
exchange_durable = true
queue = "pn"
single_active_consumer = true
prefetch = 10
`);
    expect(config.component.service).toBe("xmpp://xmpp.internal:5275");
    expect(config.notify).toEqual({
      serverUser: "world",
      include: ["flux.actor.*", "flux.sim.*"],
      exclude: ["flux.actor.test?"],
      from: "user",
      domains: ["example.com"],
      maxRate: 500,
      flapWindowMs: 2_000,
      sequence: "session",
      fields: ["reason", "ts"],
      level: "session",
      batch: 20,
      userRate: 5,
      receiptTimeoutMs: 0,
      snapshot: true,
    });
    expect(config.reconnect).toEqual({ initialMs: 1_000, maxMs: 300_000 });
    expect(config.resync).toEqual({
      pingTimeoutMs: 3_600_000,
      ejabberdApi: "http://127.0.0.1:5281/api",
    });
    expect(config.liveness).toEqual({ intervalMs: 45_000, timeoutMs: 5_000, maxRate: 0 });
    expect(config.mailbox).toEqual({ capacity: 5, maxAgeMs: 600_000 });
    expect(config.log.level).toBe("debug");
    expect(config.shutdown.drainTimeoutMs).toBe(2_000);
    // Relative to the configuration file, like secret_file.
    expect(config.durability.mode).toBe("sqlite");
    expect(config.durability.path).toMatch(/\/state\/presence\.db$/);
    expect(config.durability.synchronous).toBe("full");
    expect(config.standby).toEqual({ enabled: true, pollIntervalMs: 250 });
    expect(config.source.rabbitmq.singleActiveConsumer).toBe(true);
    expect(config.admin.listen).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(config.admin.token?.value()).toBe("t0ken");
    expect(config.admin.pseudonymise).toBe(true);
    // All from the file but the payload pseudonym key, which from = "user" rules
    // out, and MongooseIM's session list, which resync.ejabberd_api rules out.
    const notFromFile = Object.entries(sources).filter(([, s]) => s !== "file");
    expect(notFromFile.map(([key]) => key)).toEqual([
      "pseudonyms.key",
      "source.rabbitmq.graphql_url",
    ]);
  });

  it("starts from defaults when the file has only a secret", () => {
    const { sources } = resolve(WITH_SECRET);
    expect(sources["component.secret"]).toBe("file");
    expect(sources["mailbox.capacity"]).toBe("default");
  });
});

describe("server user precedence (PROTOCOL.md)", () => {
  const file = (withUser: boolean) =>
    `${WITH_SECRET}[notify]\n${withUser ? 'server_user = "from-file"\n' : ""}`;
  const legacy = { WORLD_SERVER_USERNAME: "from-legacy-env" };
  const explicit = { PRESENCE_NOTIFY_NOTIFY_SERVER_USER: "from-override" };

  it.each([
    ["file, legacy env and default: the file wins", true, legacy, "from-file", "file"],
    [
      "legacy env and default: the legacy env wins",
      false,
      legacy,
      "from-legacy-env",
      "env WORLD_SERVER_USERNAME",
    ],
    ["nothing given: the default", false, {}, "server", "default"],
    [
      "the explicit override wins over the file",
      true,
      { ...legacy, ...explicit },
      "from-override",
      "env PRESENCE_NOTIFY_NOTIFY_SERVER_USER",
    ],
    [
      "the explicit override wins over the legacy env",
      false,
      { ...legacy, ...explicit },
      "from-override",
      "env PRESENCE_NOTIFY_NOTIFY_SERVER_USER",
    ],
  ] as const)("%s", (_name, withUser, env, expected, source) => {
    const { config, sources } = resolve(file(withUser), env);
    expect(config.notify.serverUser).toBe(expected);
    expect(sources["notify.server_user"]).toBe(source);
  });

  it("refuses an invalid legacy value, naming the variable", () => {
    const err = failure(() => resolve(WITH_SECRET, { WORLD_SERVER_USERNAME: "my user" }));
    expect(err.key).toBe("notify.server_user");
    expect(err.message).toBe(
      "notify.server_user from env WORLD_SERVER_USERNAME is not a valid JID localpart: it contains a space",
    );
  });

  it("refuses an empty legacy value rather than treating it as unset", () => {
    const err = failure(() => resolve(WITH_SECRET, { WORLD_SERVER_USERNAME: "" }));
    expect(err.message).toMatch(/WORLD_SERVER_USERNAME is not a valid JID localpart: it is empty/);
  });
});

describe("the secret", () => {
  const files = (map: Record<string, string>) => (path: string) => {
    const text = map[path];
    return text === undefined ? noFiles(path) : text;
  };

  it("comes from the file", () => {
    const { config, sources } = resolve(WITH_SECRET);
    expect(config.component.secret.value()).toBe("s3cret");
    expect(sources["component.secret"]).toBe("file");
  });

  it("comes from secret_file, relative to the configuration file, without its line break", () => {
    const { config, sources } = resolve(
      '[component]\nsecret_file = "secret"\n',
      {},
      files({ "/etc/presence-notify/secret": "from-a-file\n" }),
    );
    expect(config.component.secret.value()).toBe("from-a-file");
    expect(sources["component.secret"]).toBe("secret_file /etc/presence-notify/secret");
  });

  it("comes from the environment, over the file", () => {
    const { config, sources } = resolve(WITH_SECRET, { PRESENCE_NOTIFY_COMPONENT_SECRET: "env" });
    expect(config.component.secret.value()).toBe("env");
    expect(sources["component.secret"]).toBe("env PRESENCE_NOTIFY_COMPONENT_SECRET");
  });

  it("comes from a file named in the environment", () => {
    const { config, sources } = resolve(
      "",
      { PRESENCE_NOTIFY_COMPONENT_SECRET_FILE: "/run/secrets/component" },
      files({ "/run/secrets/component": "mounted\r\n" }),
    );
    expect(config.component.secret.value()).toBe("mounted");
    expect(sources["component.secret"]).toBe("secret_file /run/secrets/component");
  });

  it("comes from systemd's credentials directory (LoadCredential=), named with CREDENTIALS_DIRECTORY", () => {
    const credentials = "/run/credentials/presence-notify.service";
    const text = `[component]\nsecret_file = "${CREDENTIALS_VARIABLE}/component-secret"\n`;
    const read = files({ [`${credentials}/component-secret`]: "from-systemd\n" });
    const { config, sources } = resolve(text, { CREDENTIALS_DIRECTORY: credentials }, read);
    expect(config.component.secret.value()).toBe("from-systemd");
    expect(sources["component.secret"]).toBe(`secret_file ${credentials}/component-secret`);
    // The same through the environment variable.
    const fromEnv = resolve(
      "",
      {
        CREDENTIALS_DIRECTORY: credentials,
        PRESENCE_NOTIFY_COMPONENT_SECRET_FILE: `${CREDENTIALS_VARIABLE}/component-secret`,
      },
      read,
    );
    expect(fromEnv.config.component.secret.value()).toBe("from-systemd");
  });

  it("says how to fix a CREDENTIALS_DIRECTORY secret_file outside systemd", () => {
    const err = failure(() =>
      resolve(`[component]\nsecret_file = "${CREDENTIALS_VARIABLE}/component-secret"\n`),
    );
    expect(err.key).toBe("component.secret_file");
    expect(err.message).toMatch(
      /CREDENTIALS_DIRECTORY is not set: run the daemon under systemd with LoadCredential=/,
    );
  });

  it("prints as [redacted] wherever it is stringified, inspected or logged", () => {
    const { config } = resolve(WITH_SECRET);
    expect(String(config.component.secret)).toBe("[redacted]");
    expect(`${config.component.secret}`).toBe("[redacted]");
    expect(JSON.stringify(config)).not.toContain("s3cret");
    expect(inspect(config, { depth: 10 })).not.toContain("s3cret");
    const { logger, records } = logSink();
    logger.info({ config, secret: config.component.secret }, "loaded");
    expect(JSON.stringify(records)).not.toContain("s3cret");
    expect(records[0]?.config).toMatchObject({ component: { secret: "[redacted]" } });
  });

  it.each([
    [
      "both secret and secret_file",
      '[component]\nsecret = "a"\nsecret_file = "b"\n',
      {},
      /given twice in file/,
    ],
    [
      "an unreadable secret_file",
      '[component]\nsecret_file = "/nope"\n',
      {},
      /names \/nope, which cannot be read: no such file/,
    ],
    [
      "an empty secret",
      '[component]\nsecret = ""\n',
      {},
      /component\.secret from file \S+ is empty/,
    ],
    [
      "an empty secret file",
      '[component]\nsecret_file = "/empty"\n',
      {},
      /from secret_file \/empty is empty/,
    ],
    [
      "both environment variables",
      "",
      { PRESENCE_NOTIFY_COMPONENT_SECRET: "a", PRESENCE_NOTIFY_COMPONENT_SECRET_FILE: "/b" },
      /given twice in the environment/,
    ],
  ] as const)("refuses %s", (_name, text, env, message) => {
    const err = failure(() => resolve(text, env, files({ "/empty": "\n" })));
    expect(err.message).toMatch(message);
    expect(err.key).toMatch(/^component\.secret/);
  });
});

describe("invalid values", () => {
  it.each([
    [
      "component.service",
      '[component]\nservice = "http://x:1"',
      /must be "xmpp:\/\/host:port" or "tcp:\/\/host:port"/,
    ],
    ["component.service", '[component]\nservice = "xmpp://x"', /must be "xmpp:\/\/host:port"/],
    [
      "component.service",
      '[component]\nservice = "xmpp://x:70000"',
      /port 70000; a port is a number from 1 to 65535/,
    ],
    [
      "component.service",
      '[component]\nservice = "xmpp://300.1.1.1:5347"',
      /not a valid IPv4 address/,
    ],
    ["component.domain", '[component]\ndomain = "bad domain"', /is not a valid domain/],
    ["component.domain", '[component]\ndomain = "Presence.example.com"', /upper-case/],
    ["component.domain", '[component]\ndomain = "a..b"', /empty label/],
    ["component.domain", "[component]\ndomain = 5", /must be a string, not a number/],
    [
      "notify.server_user",
      '[notify]\nserver_user = "a@b"',
      /not a valid JID localpart: it contains "@"/,
    ],
    ["notify.include", "[notify]\ninclude = []", /is empty, so no presence would ever be notified/],
    ["notify.include", '[notify]\ninclude = "*"', /must be a list of strings.*not a string/],
    [
      "notify.include",
      '[notify]\ninclude = ["a", ""]',
      /notify\.include\[1\] from file \S+ is not a usable glob: it is empty/,
    ],
    ["notify.exclude", '[notify]\nexclude = ["alice@example.com"]', /could never match/],
    ["notify.from", '[notify]\nfrom = "server"', /must be "component" or "user"; got "server"/],
    [
      "notify.domains",
      '[notify]\ndomains = ["ex ample.com"]',
      /notify\.domains\[0\] .* is not a valid domain/,
    ],
    [
      "reconnect.initial",
      '[reconnect]\ninitial = "1.5s"',
      /is not a duration: "1\.5s"; expected .* "500ms", "10s", "5m" or "1h"/,
    ],
    ["reconnect.max", "[reconnect]\nmax = 30", /must be a string, not a number/],
    [
      "reconnect.initial",
      '[reconnect]\ninitial = "1m"\nmax = "30s"',
      /reconnect\.initial \(1m, from file \S+\) must not be longer than reconnect\.max \(30s, from file \S+\)/,
    ],
    ["resync.ping_timeout", '[resync]\nping_timeout = "0s"', /must be longer than zero/],
    ["liveness.max_rate", "[liveness]\nmax_rate = -1", /from 0 \(off\)/],
    ["resync.ejabberd_api", '[resync]\nejabberd_api = "ftp://x/api"', /http:\/\/ or https:\/\//],
    ["resync.ejabberd_api", '[resync]\nejabberd_api = "not a url"', /is not a URL/],
    ["durability.mode", '[durability]\nmode = "disk"', /must be "memory" or "sqlite"/],
    ["notify.flap_window", '[notify]\nflap_window = "sometimes"', /or "off"/],
    ["notify.receipt_timeout", '[notify]\nreceipt_timeout = "never"', /or "off"/],
    ["signing.key", '[signing]\nkey = "short"', /shorter than 32 characters/],
    ["signing.key_id", '[signing]\nkey_id = "a b"', /must be 1 to 64 letters/],
    ["pseudonyms.key", '[pseudonyms]\nkey = "short"', /shorter than 32 characters/],
    [
      "pseudonyms.key",
      '[pseudonyms]\nkey = "0123456789abcdef0123456789abcdef"\n[notify]\nfrom = "user"',
      /needs notify\.from = "component"/,
    ],
    [
      "standby.enabled",
      "[standby]\nenabled = true",
      /needs durability\.mode = "sqlite": a standby waits for the state file's lock/,
    ],
    ["standby.poll_interval", '[standby]\npoll_interval = "0s"', /must be longer than zero/],
    [
      "notify.snapshot",
      '[notify]\nsnapshot = true\nlevel = "user"',
      /notify\.snapshot \(from file \S+\) and notify\.level = "user" \(from file \S+\) do not go together yet/,
    ],
    [
      "notify.receipt_timeout",
      '[notify]\nreceipt_timeout = "30s"\nfrom = "user"',
      /needs notify\.from = "component": the receipt for a message sent from a user goes back to that user/,
    ],
    ["liveness.interval", '[liveness]\ninterval = "soon"', /is not a duration/],
    ["resync.ping_timeout", '[resync]\nping_timeout = "25d"', /is not a duration/],
    ["resync.ping_timeout", '[resync]\nping_timeout = "1000h"', /is too long/],
    [
      "mailbox.capacity",
      "[mailbox]\ncapacity = 0",
      /must be a positive whole number, such as 100000; got 0/,
    ],
    ["mailbox.capacity", "[mailbox]\ncapacity = 1.5", /positive whole number/],
    ["log.level", '[log]\nlevel = "verbose"', /must be "fatal", .* or "silent"; got "verbose"/],
    ["notify", 'notify = "x"', /^notify from file \S+ must be a table, not a string/],
  ])("%s: %s", (key, text, message) => {
    const err = failure(() => resolve(`${text}\n`, SECRET_ENV));
    expect(err._tag).toBe("ConfigError");
    expect(err.key).toBe(key);
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(key)).toBe(true);
  });

  it.each([
    [
      "PRESENCE_NOTIFY_MAILBOX_CAPACITY",
      "lots",
      "mailbox.capacity",
      /from env PRESENCE_NOTIFY_MAILBOX_CAPACITY must be a positive whole number.*got "lots"/,
    ],
    [
      "PRESENCE_NOTIFY_NOTIFY_INCLUDE",
      "flux.*,,x",
      "notify.include",
      /notify\.include\[1\] from env PRESENCE_NOTIFY_NOTIFY_INCLUDE is not a usable glob: it is empty/,
    ],
    [
      "PRESENCE_NOTIFY_RECONNECT_MAX",
      "30 s",
      "reconnect.max",
      /reconnect\.max from env PRESENCE_NOTIFY_RECONNECT_MAX is not a duration/,
    ],
    [
      "PRESENCE_NOTIFY_NOTIFY_FROM",
      "me",
      "notify.from",
      /notify\.from from env PRESENCE_NOTIFY_NOTIFY_FROM must be "component" or "user"/,
    ],
  ])("refuses %s=%s naming the variable", (name, value, key, message) => {
    const err = failure(() => resolve(WITH_SECRET, { [name]: value }));
    expect(err.key).toBe(key);
    expect(err.message).toMatch(message);
  });
});

describe("environment overrides", () => {
  it("override every kind of key, lists comma-separated", () => {
    const { config, sources } = resolve(`${WITH_SECRET}[notify]\ninclude = ["x"]\n`, {
      PRESENCE_NOTIFY_NOTIFY_INCLUDE: "flux.actor.*, flux.sim.*",
      PRESENCE_NOTIFY_NOTIFY_EXCLUDE: "",
      PRESENCE_NOTIFY_MAILBOX_CAPACITY: "42",
      PRESENCE_NOTIFY_RECONNECT_MAX: "1h",
      PRESENCE_NOTIFY_LOG_LEVEL: "warn",
      PRESENCE_NOTIFY_CONFIG: "/somewhere/else.toml",
      UNRELATED: "x",
    });
    expect(config.notify.include).toEqual(["flux.actor.*", "flux.sim.*"]);
    expect(config.notify.exclude).toEqual([]);
    expect(config.mailbox.capacity).toBe(42);
    expect(config.reconnect.maxMs).toBe(3_600_000);
    expect(config.log.level).toBe("warn");
    expect(sources["notify.include"]).toBe("env PRESENCE_NOTIFY_NOTIFY_INCLUDE");
    expect(sources["notify.exclude"]).toBe("env PRESENCE_NOTIFY_NOTIFY_EXCLUDE");
  });

  it("ignores variables whose value is undefined", () => {
    const { sources } = resolve(WITH_SECRET, { PRESENCE_NOTIFY_LOG_LEVEL: undefined });
    expect(sources["log.level"]).toBe("default");
  });

  it("refuses a misspelt override with a suggestion", () => {
    const err = failure(() => resolve(WITH_SECRET, { PRESENCE_NOTIFY_NOTIFY_SERVERUSER: "x" }));
    expect(err.message).toMatch(
      /unknown environment variable PRESENCE_NOTIFY_NOTIFY_SERVERUSER; did you mean PRESENCE_NOTIFY_NOTIFY_SERVER_USER\?/,
    );
  });
});

describe("unknown keys and sections", () => {
  it.each([
    [
      '[notify]\nserver_usr = "x"',
      "notify.server_usr",
      /unknown key "notify\.server_usr" in file \S+; did you mean notify\.server_user\?/,
    ],
    [
      '[notfy]\nserver_user = "x"',
      "notfy",
      /unknown section or key "notfy" in file \S+; did you mean \[notify\]\?/,
    ],
    [
      '[component]\nserver_user = "x"',
      "component.server_user",
      /did you mean notify\.server_user, under \[notify\]\?/,
    ],
    [
      'server_user = "x"',
      "server_user",
      /did you mean notify\.server_user, written under \[notify\]\?/,
    ],
    [
      "[log]\ncolour = true",
      "log.colour",
      /unknown key "log\.colour" in file \S+\. The keys of \[log\] are level, redact_jids\./,
    ],
    ["[notify.extra]\na = 1", "notify.extra", /unknown key "notify\.extra"/],
  ])("%s", (text, key, message) => {
    const err = failure(() => resolve(`${text}\n`, SECRET_ENV));
    expect(err.key).toBe(key);
    expect(err.message).toMatch(message);
  });
});

describe("the file itself", () => {
  it("gives the line and column of a TOML syntax error", () => {
    const err = failure(() => resolve('[component]\nsecret = "s"\ndomain = = "x"\n'));
    expect(err.key).toBeUndefined();
    expect(err.message).toMatch(
      new RegExp(
        `^${PATH}:3:\\d+: the configuration file is not valid TOML \\(line 3, column \\d+\\)`,
      ),
    );
  });

  it("refuses __proto__ keys", () => {
    const err = failure(() => resolve('[component]\nsecret = "s"\n[__proto__]\nx = 1\n'));
    expect(err.message).toMatch(/not valid TOML/);
  });

  it("says clearly when it does not exist", () => {
    const err = failure(() => loadConfig({ path: "/nonexistent/presence-notify.toml", env: {} }));
    expect(err.message).toBe(
      "the configuration file /nonexistent/presence-notify.toml cannot be read: no such file",
    );
  });

  it("is an Error, so a stray throw still has a message and a stack", () => {
    const err = failure(() => resolve(""));
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(ConfigError);
  });
});
