import { Schema, SchemaTransformation } from "effect";
import { parseDuration } from "./duration.js";
import { globProblem } from "./glob.js";
import { domainProblem, parseService } from "./host.js";
import { type ListenAddress, parseListen } from "./listen.js";
import { localpartProblem } from "./localpart.js";
import type { Secret } from "./redacted.js";

/**
 * The configuration file's shape (TOML, snake_case, durations as text) and the
 * resolved `DaemonConfig` the daemon runs with (camelCase, durations in ms,
 * the secret wrapped so it cannot be printed by accident).
 *
 * Every field schema carries the semantic check too, so a value is validated
 * the same way whether it came from the file, the environment or a default.
 * Filters fail with a clause ("is not a valid JID localpart: it contains a
 * space"); `issue.ts` puts the key and the source in front of it.
 */

export const NOTIFY_FROM = ["component", "user"] as const;
export const DURABILITY_MODES = ["memory", "sqlite"] as const;
export const SEQUENCES = ["off", "session"] as const;
export type Sequence = (typeof SEQUENCES)[number];
export type DurabilityMode = (typeof DURABILITY_MODES)[number];
export type NotifyFrom = (typeof NOTIFY_FROM)[number];

/** pino's levels. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DaemonConfig {
  readonly component: {
    /** Always `xmpp://host:port` (a `tcp://` address is rewritten), as `@xmpp/component` wants it. */
    readonly service: string;
    readonly domain: string;
    /** Read it with `secret.value()`; it prints as "[redacted]". */
    readonly secret: Secret;
  };
  readonly notify: {
    readonly serverUser: string;
    readonly include: readonly string[];
    readonly exclude: readonly string[];
    readonly from: NotifyFrom;
    /** User domains served; empty: the server's own hosts (src/sessions/served-domains.ts). */
    readonly domains: readonly string[];
    /** Notifications sent per second at most, all server users together; 0: no cap. */
    readonly maxRate: number;
    /** Opt-in flap damping window in ms; 0: off. */
    readonly flapWindowMs: number;
    /** Opt-in payload extension: "session" adds args.seq. */
    readonly sequence: Sequence;
    /** Opt-in: at most this many notifications for one server user per message; 1: off. */
    readonly batch: number;
    /** Opt-in: notifications per second per user (bare JID) at most; 0: no limit. */
    readonly userRate: number;
    /** Opt-in XEP-0184: ms to wait for a receipt before sending again; 0: no receipts. */
    readonly receiptTimeoutMs: number;
  };
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  readonly resync: {
    readonly pingTimeoutMs: number;
    /** ejabberd's mod_http_api base URL ("http://127.0.0.1:5281/api"), or "" for none. */
    readonly ejabberdApi: string;
  };
  /** Periodic XEP-0199 checks of quiet sessions; `maxRate` 0 turns them off. */
  readonly liveness: {
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly maxRate: number;
  };
  readonly mailbox: { readonly capacity: number; readonly maxAgeMs: number };
  /** `redactJids`: JIDs in log lines as keyed pseudonyms, stanza excerpts dropped. */
  readonly log: { readonly level: LogLevel; readonly redactJids: boolean };
  readonly shutdown: { readonly drainTimeoutMs: number };
  /** "sqlite": the outbox and the session table survive a crash, in `path`. */
  readonly durability: { readonly mode: DurabilityMode; readonly path: string };
  /** The admin HTTP listener (metrics, health, dashboard); `listen` undefined: off. */
  readonly admin: {
    readonly listen: ListenAddress | undefined;
    /** Bearer token every endpoint but /healthz demands; undefined: none. */
    readonly token: Secret | undefined;
    /** Show JIDs on the dashboard as stable keyed-hash tokens. */
    readonly pseudonymise: boolean;
  };
  /** Opt-in HMAC-SHA256 of each notification (`src/protocol/signature.ts`); `key` undefined: off. */
  readonly signing: { readonly key: Secret | undefined; readonly keyId: string };
  /** Opt-in: `args.user` as a keyed pseudonym (`src/protocol/pseudonym.ts`); `key` undefined: off. */
  readonly pseudonyms: { readonly key: Secret | undefined };
  /** Presence sources besides the XMPP stream (`src/sources/`). */
  readonly source: { readonly rabbitmq: RabbitMqSourceConfig };
}

/** MongooseIM's mod_event_pusher (RabbitMQ backend) as a presence source; `url` undefined: off. */
export interface RabbitMqSourceConfig {
  /** amqp(s)://user:password@host:port/vhost; it may hold a password, so it is a Secret. */
  readonly url: Secret | undefined;
  readonly exchange: string;
  /** Must match MongooseIM's `presence_exchange.durable`, or the second declare fails (406). */
  readonly exchangeDurable: boolean;
  readonly queue: string;
  readonly prefetch: number;
  /** MongooseIM's GraphQL admin endpoint for reconciliation; may hold credentials. */
  readonly graphqlUrl: Secret | undefined;
}

/** How a value is written; says how an environment variable's text is turned into it. */
export type KeyKind = "string" | "list" | "integer" | "boolean";

/** Every key of the resolved configuration, dotted as in the file, with its kind. */
export const CONFIG_KEYS = {
  "component.service": "string",
  "component.domain": "string",
  "component.secret": "string",
  "notify.server_user": "string",
  "notify.include": "list",
  "notify.exclude": "list",
  "notify.from": "string",
  "notify.domains": "list",
  "notify.max_rate": "integer",
  "notify.flap_window": "string",
  "notify.sequence": "string",
  "notify.batch": "integer",
  "notify.user_rate": "integer",
  "notify.receipt_timeout": "string",
  "reconnect.initial": "string",
  "reconnect.max": "string",
  "resync.ping_timeout": "string",
  "resync.ejabberd_api": "string",
  "liveness.interval": "string",
  "liveness.timeout": "string",
  "liveness.max_rate": "integer",
  "mailbox.capacity": "integer",
  "mailbox.max_age": "string",
  "log.level": "string",
  "log.redact_jids": "boolean",
  "shutdown.drain_timeout": "string",
  "durability.mode": "string",
  "durability.path": "string",
  "admin.listen": "string",
  "admin.token": "string",
  "admin.pseudonymise": "boolean",
  "signing.key": "string",
  "signing.key_id": "string",
  "pseudonyms.key": "string",
  "source.rabbitmq.url": "string",
  "source.rabbitmq.exchange": "string",
  "source.rabbitmq.exchange_durable": "boolean",
  "source.rabbitmq.queue": "string",
  "source.rabbitmq.prefetch": "integer",
  "source.rabbitmq.graphql_url": "string",
} as const satisfies Record<string, KeyKind>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/**
 * Keys the file may hold that are not themselves resolved values: they are
 * another way to give one (`secret_file` gives `component.secret`).
 */
export const INDIRECT_KEYS = {
  "component.secret_file": "string",
  "admin.token_file": "string",
  "signing.key_file": "string",
  "pseudonyms.key_file": "string",
} as const satisfies Record<string, KeyKind>;

export type EncodedValue = string | number | boolean | readonly string[];

/** Secrets: resolved by `secret.ts` (file, `*_file` or environment), never defaulted. */
export type SecretConfigKey = "component.secret" | "admin.token" | "signing.key" | "pseudonyms.key";

/**
 * Defaults, written as in the file. `component.secret` has none: it must be
 * given; `admin.token`, `signing.key` and `pseudonyms.key` have none:
 * without one, no token is asked for, nothing signed or pseudonymised.
 */
export const DEFAULTS: { readonly [K in Exclude<ConfigKey, SecretConfigKey>]: EncodedValue } = {
  "component.service": "xmpp://127.0.0.1:5347",
  "component.domain": "presence.localhost",
  "notify.server_user": "server",
  "notify.include": ["*"],
  "notify.exclude": [],
  "notify.from": "component",
  "notify.domains": [],
  "notify.max_rate": 0,
  "notify.flap_window": "off",
  "notify.sequence": "off",
  "notify.batch": 1,
  "notify.user_rate": 0,
  "notify.receipt_timeout": "off",
  "reconnect.initial": "500ms",
  "reconnect.max": "30s",
  "resync.ping_timeout": "10s",
  "resync.ejabberd_api": "",
  "liveness.interval": "30s",
  "liveness.timeout": "10s",
  "liveness.max_rate": 200,
  "mailbox.capacity": 100_000,
  "mailbox.max_age": "1h",
  "log.level": "info",
  "log.redact_jids": false,
  "shutdown.drain_timeout": "5s",
  "durability.mode": "memory",
  "durability.path": "/var/lib/presence-notify/state.db",
  // Off unless asked for: two daemons on one host must not fight over a port.
  "admin.listen": "127.0.0.1:9464",
  "admin.pseudonymise": false,
  "signing.key_id": "k1",
  // Off: the XMPP stream (XEP-0356) is the only presence source.
  "source.rabbitmq.url": "",
  "source.rabbitmq.exchange": "presence",
  // MongooseIM's presence_exchange.durable defaults to false too.
  "source.rabbitmq.exchange_durable": false,
  "source.rabbitmq.queue": "presence-notify",
  "source.rabbitmq.prefetch": 100,
  "source.rabbitmq.graphql_url": "",
};

/**
 * "notify.server_user" -> notify / server_user; a nested table's keys split at
 * the last dot: "source.rabbitmq.url" -> source.rabbitmq / url.
 */
export function splitKey(key: string): { section: string; name: string } {
  const dot = key.lastIndexOf(".");
  return { section: key.slice(0, dot), name: key.slice(dot + 1) };
}

/** Section name -> the key names it may hold in the file. */
export const FILE_SECTIONS: ReadonlyMap<string, readonly string[]> = (() => {
  const sections = new Map<string, string[]>();
  for (const key of [...Object.keys(CONFIG_KEYS), ...Object.keys(INDIRECT_KEYS)]) {
    const { section, name } = splitKey(key);
    sections.set(section, [...(sections.get(section) ?? []), name]);
  }
  return sections;
})();

// ---------------------------------------------------------------------------
// Field schemas

const checked = (problem: (value: string) => string | undefined) =>
  Schema.String.check(Schema.makeFilter((value: string) => problem(value)));

/** ["a", "b", "c"] -> `"a", "b" or "c"` */
function alternatives(allowed: readonly string[]): string {
  const quoted = allowed.map((a) => JSON.stringify(a));
  return quoted.length < 2
    ? quoted.join("")
    : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

const oneOf = <const L extends readonly string[]>(allowed: L) =>
  checked((value) =>
    allowed.includes(value)
      ? undefined
      : `must be ${alternatives(allowed)}; got ${JSON.stringify(value)}`,
  ).pipe(Schema.refine((value: string): value is L[number] => allowed.includes(value)));

const Service = checked((value) => {
  const parsed = parseService(value);
  return parsed.ok ? undefined : parsed.reason;
}).pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform({
      decode: (value: string) => value.replace(/^tcp:/, "xmpp:"),
      encode: (value: string) => value,
    }),
  ),
);

const Domain = checked((value) => {
  const problem = domainProblem(value);
  return problem === undefined ? undefined : `is not a valid domain: ${problem}`;
});

// Never quote the value: this is the secret.
const SecretText = checked((value) => {
  if (value === "") return "is empty";
  if (/\p{Cc}/u.test(value)) return "contains a control character";
  return undefined;
});

const Listen = checked((value) => {
  const parsed = parseListen(value);
  return parsed.ok ? undefined : parsed.reason;
});

// Never quote the value: this is the token. It travels in an HTTP header.
const TokenText = checked((value) => {
  if (value === "") return "is empty; leave the token out for none";
  if (!/^[\x21-\x7e]+$/.test(value)) {
    return "must be printable ASCII without spaces (it is sent in an HTTP header)";
  }
  return undefined;
});

const Flag = Schema.Boolean;

// Never quote the value: this is the key.
const SigningKeyText = checked((value) => {
  if (value.length < 32) {
    return "is shorter than 32 characters; use a random key, e.g. from `openssl rand -base64 32`";
  }
  if (/\p{Cc}/u.test(value)) return "contains a control character";
  return undefined;
});

const KeyId = checked((value) =>
  /^[A-Za-z0-9._-]{1,64}$/.test(value)
    ? undefined
    : `must be 1 to 64 letters, digits, ".", "_" or "-"; got ${JSON.stringify(value)}`,
);

const ServerUser = checked((value) => {
  const problem = localpartProblem(value);
  return problem === undefined ? undefined : `is not a valid JID localpart: ${problem}`;
});

const Glob = checked((value) => {
  const problem = globProblem(value);
  return problem === undefined ? undefined : `is not a usable glob: ${problem}`;
});

const Include = Schema.Array(Glob).check(
  Schema.makeFilter((globs: readonly string[]) =>
    globs.length > 0
      ? undefined
      : 'is empty, so no presence would ever be notified; use ["*"] to notify about everyone',
  ),
);

/**
 * A duration ("500ms", "10s", "5m", "1h") decoded to ms; with `off`, the word
 * "off" is accepted too and decodes to 0.
 */
function durationSchema(options: { off: boolean }) {
  const isOff = (value: string) => options.off && value === "off";
  return checked((value) => {
    if (isOff(value)) return undefined;
    const parsed = parseDuration(value);
    if (parsed.ok) return undefined;
    return options.off ? `${parsed.reason}, or "off"` : parsed.reason;
  }).pipe(
    Schema.decodeTo(
      Schema.Number,
      SchemaTransformation.transform({
        decode: (value: string) => {
          if (isOff(value)) return 0;
          const parsed = parseDuration(value);
          return parsed.ok ? parsed.ms : Number.NaN;
        },
        encode: (ms: number) => (options.off && ms === 0 ? "off" : `${ms}ms`),
      }),
    ),
  );
}

const Duration = durationSchema({ off: false });
const OffOrDuration = durationSchema({ off: true });

const BatchSize = Schema.Number.check(
  Schema.makeFilter((n: number) =>
    Number.isSafeInteger(n) && n >= 1 && n <= 1000
      ? undefined
      : `must be a whole number of notifications per message from 1 (off) to 1000; got ${n}`,
  ),
);

const Capacity = Schema.Number.check(
  Schema.makeFilter((n: number) =>
    Number.isSafeInteger(n) && n > 0
      ? undefined
      : `must be a positive whole number, such as 100000; got ${n}`,
  ),
);

const ApiUrl = checked((value) => {
  if (value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL; expected e.g. "http://127.0.0.1:5281/api", or "" for none`;
  }
  return url.protocol === "http:" || url.protocol === "https:"
    ? undefined
    : `must be an http:// or https:// URL; got ${JSON.stringify(url.protocol)}`;
});

const AmqpUrl = checked((value) => {
  if (value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never quote the value: it may hold a password.
    return 'is not a URL; expected e.g. "amqp://user:password@127.0.0.1:5672/", or "" for none';
  }
  if (url.protocol !== "amqp:" && url.protocol !== "amqps:") {
    return `must be an amqp:// or amqps:// URL; got ${JSON.stringify(url.protocol)}`;
  }
  return url.hostname === "" ? "has no host" : undefined;
});

/** AMQP 0-9-1 short strings; RabbitMQ reserves the "amq." prefix. */
const AmqpName = checked((value) => {
  if (value === "") return "is empty";
  if (Buffer.byteLength(value) > 255) return "is longer than 255 bytes";
  if (!/^[A-Za-z0-9_.:-]+$/.test(value)) {
    return `may hold only letters, digits, "-", "_", "." and ":"; got ${JSON.stringify(value)}`;
  }
  return value.startsWith("amq.")
    ? `starts with "amq.", which RabbitMQ reserves; got ${JSON.stringify(value)}`
    : undefined;
});

const Prefetch = Schema.Number.check(
  Schema.makeFilter((n: number) =>
    Number.isSafeInteger(n) && n >= 1 && n <= 65_535
      ? undefined
      : `must be a whole number of unacknowledged messages from 1 to 65535, such as 100; got ${n}`,
  ),
);

const GraphqlUrl = checked((value) => {
  if (value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never quote the value: it may hold the admin password.
    return 'is not a URL; expected e.g. "http://admin:password@127.0.0.1:5551/api/graphql", or "" for none';
  }
  return url.protocol === "http:" || url.protocol === "https:"
    ? undefined
    : `must be an http:// or https:// URL; got ${JSON.stringify(url.protocol)}`;
});

const Rate = Schema.Number.check(
  Schema.makeFilter((n: number) =>
    Number.isSafeInteger(n) && n >= 0 && n <= 1_000_000
      ? undefined
      : `must be a whole number per second from 0 (off) to 1000000, such as 200; got ${n}`,
  ),
);

/**
 * The configuration with every key present (file, environment and defaults
 * already layered): decoding it validates every value and turns durations
 * into milliseconds. Decode with `onExcessProperty: "error"` so unknown keys
 * and sections are refused.
 */
export const LayeredConfig = Schema.Struct({
  component: Schema.Struct({ service: Service, domain: Domain, secret: SecretText }),
  notify: Schema.Struct({
    server_user: ServerUser,
    include: Include,
    exclude: Schema.Array(Glob),
    from: oneOf(NOTIFY_FROM),
    domains: Schema.Array(Domain),
    max_rate: Rate,
    flap_window: OffOrDuration,
    sequence: oneOf(SEQUENCES),
    batch: BatchSize,
    user_rate: Rate,
    receipt_timeout: OffOrDuration,
  }),
  reconnect: Schema.Struct({ initial: Duration, max: Duration }),
  resync: Schema.Struct({ ping_timeout: Duration, ejabberd_api: ApiUrl }),
  liveness: Schema.Struct({ interval: Duration, timeout: Duration, max_rate: Rate }),
  mailbox: Schema.Struct({ capacity: Capacity, max_age: Duration }),
  log: Schema.Struct({ level: oneOf(LOG_LEVELS), redact_jids: Flag }),
  shutdown: Schema.Struct({ drain_timeout: Duration }),
  durability: Schema.Struct({
    mode: oneOf(DURABILITY_MODES),
    path: checked((value) =>
      value.trim() === "" ? "is empty; give the path of the state file" : undefined,
    ),
  }),
  admin: Schema.Struct({
    listen: Listen,
    token: Schema.optionalKey(TokenText),
    pseudonymise: Flag,
  }),
  signing: Schema.Struct({ key: Schema.optionalKey(SigningKeyText), key_id: KeyId }),
  pseudonyms: Schema.Struct({ key: Schema.optionalKey(SigningKeyText) }),
  source: Schema.Struct({
    rabbitmq: Schema.Struct({
      url: AmqpUrl,
      exchange: AmqpName,
      exchange_durable: Flag,
      queue: AmqpName,
      prefetch: Prefetch,
      graphql_url: GraphqlUrl,
    }),
  }),
});

export type LayeredConfig = typeof LayeredConfig.Type;
