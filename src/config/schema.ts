import { Schema } from "effect";
import { PAYLOAD_FIELDS } from "../protocol/payload-fields.js";
import {
  AmqpName,
  AmqpUrlText,
  ApiUrl,
  BatchSize,
  Capacity,
  ComponentSecretText,
  Domain,
  Duration,
  Flag,
  Glob,
  GraphqlUrlText,
  Include,
  KeyId,
  KeyText,
  Listen,
  OffOrDuration,
  oneOf,
  optionalSecretOf,
  Prefetch,
  Rate,
  ServerUser,
  Service,
  StatePath,
  secretOf,
  secretUrlOf,
  TokenText,
} from "./fields.js";
import {
  type AnnotatedSetting,
  type EncodedValue,
  type FileKeys,
  type KeyKind,
  requireAnnotated,
  section,
  setting,
  settingsOf,
} from "./setting.js";

/**
 * The configuration, in one place: every key is one `setting()` entry, its
 * value schema and its annotations (the default as written in the file, the
 * environment variable, whether SIGHUP applies it, what it is for). The file
 * form (TOML, snake_case, durations as text) decodes to `DaemonConfig`
 * (camelCase, durations in ms, secrets wrapped so they cannot be printed by
 * accident). The tables at the end, and through them the loader, the reload
 * and `check-config`, are derived from it: adding a key is adding its entry
 * here, then using it.
 *
 * A key without `live: true` waits for a restart when a reload changes it;
 * the comments say why where it is not obvious.
 */

export const NOTIFY_FROM = ["component", "user"] as const;
export const SEQUENCES = ["off", "session"] as const;
export const NOTIFY_LEVELS = ["session", "user"] as const;
export const DURABILITY_MODES = ["memory", "sqlite"] as const;
/** pino's levels. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** `[notify] fields`: opt-in payload fields (src/protocol/payload-fields.ts), each named once. */
const PayloadFields = Schema.Array(oneOf(PAYLOAD_FIELDS)).check(
  Schema.makeFilter((fields: readonly string[]) => {
    const twice = fields.find((field, i) => fields.indexOf(field) !== i);
    return twice === undefined
      ? undefined
      : `names ${JSON.stringify(twice)} twice; name each field once`;
  }),
);

export const ConfigSchema = Schema.Struct({
  // The link's identity: changing it means a new connection.
  component: section({
    service: setting(Service, {
      env: "PRESENCE_NOTIFY_COMPONENT_SERVICE",
      default: "xmpp://127.0.0.1:5347",
      description:
        "The XMPP server's XEP-0114 component port, xmpp://host:port or tcp://host:port.",
    }),
    domain: setting(Domain, {
      env: "PRESENCE_NOTIFY_COMPONENT_DOMAIN",
      default: "presence.localhost",
      description: "The component's JID: the domain the server routes to this daemon.",
    }),
    secret: setting(secretOf(ComponentSecretText), {
      env: "PRESENCE_NOTIFY_COMPONENT_SECRET",
      secret: "required",
      description: "The shared secret of the component handshake (XEP-0114 section 3).",
    }),
  }),
  notify: section({
    serverUser: setting(ServerUser, {
      key: "server_user",
      env: "PRESENCE_NOTIFY_NOTIFY_SERVER_USER",
      fallbackEnv: "WORLD_SERVER_USERNAME",
      default: "server",
      live: true,
      description: "The localpart of the account told of every session, at the user's own domain.",
    }),
    include: setting(Include, {
      env: "PRESENCE_NOTIFY_NOTIFY_INCLUDE",
      default: ["*"],
      live: true,
      description: "Localpart globs: a user is notified about if one matches and no exclude does.",
    }),
    exclude: setting(Schema.Array(Glob), {
      env: "PRESENCE_NOTIFY_NOTIFY_EXCLUDE",
      default: [],
      live: true,
      description: "Localpart globs of users never notified about.",
    }),
    // Receipts and payload pseudonyms keep it until a restart (reload.ts).
    from: setting(oneOf(NOTIFY_FROM), {
      env: "PRESENCE_NOTIFY_NOTIFY_FROM",
      default: "component",
      live: true,
      description: "The sender: the component, or the user's bare JID (XEP-0356 message=outgoing).",
    }),
    domains: setting(Schema.Array(Domain), {
      env: "PRESENCE_NOTIFY_NOTIFY_DOMAINS",
      default: [],
      live: true,
      description: "The user domains served; empty: the server's own hosts (served-domains.ts).",
    }),
    maxRate: setting(Rate, {
      key: "max_rate",
      env: "PRESENCE_NOTIFY_NOTIFY_MAX_RATE",
      default: 0,
      live: true,
      description: "Notifications sent per second at most, all server users together; 0: no cap.",
    }),
    flapWindowMs: setting(OffOrDuration, {
      key: "flap_window",
      env: "PRESENCE_NOTIFY_NOTIFY_FLAP_WINDOW",
      default: "off",
      live: true,
      description: "Opt-in flap damping: how long a notification waits for a flip back.",
    }),
    // Numbering restarting mid-run reads as a daemon restart to consumers.
    sequence: setting(oneOf(SEQUENCES), {
      env: "PRESENCE_NOTIFY_NOTIFY_SEQUENCE",
      default: "off",
      description: 'Opt-in payload extension: "session" adds args.seq.',
    }),
    // Read at each transition: what is queued keeps the fields it was made with.
    fields: setting(PayloadFields, {
      env: "PRESENCE_NOTIFY_NOTIFY_FIELDS",
      default: [],
      live: true,
      description:
        'Opt-in payload fields: "ts" adds args.ts (ms since the epoch), "reason" args.reason.',
    }),
    // A consumer cannot take per-session and per-user notifications mixed.
    level: setting(oneOf(NOTIFY_LEVELS), {
      env: "PRESENCE_NOTIFY_NOTIFY_LEVEL",
      default: "session",
      description:
        '"user": one notification per user (bare JID), its first resource online and its last offline.',
    }),
    batch: setting(BatchSize, {
      env: "PRESENCE_NOTIFY_NOTIFY_BATCH",
      default: 1,
      live: true,
      description:
        "Opt-in: at most this many notifications for one server user per message; 1: off.",
    }),
    userRate: setting(Rate, {
      key: "user_rate",
      env: "PRESENCE_NOTIFY_NOTIFY_USER_RATE",
      default: 0,
      live: true,
      description: "Opt-in: notifications per second per user (bare JID) at most; 0: no limit.",
    }),
    // The receipt tracker is built at start.
    receiptTimeoutMs: setting(OffOrDuration, {
      key: "receipt_timeout",
      env: "PRESENCE_NOTIFY_NOTIFY_RECEIPT_TIMEOUT",
      default: "off",
      description: "Opt-in XEP-0184: how long to wait for a receipt before sending again.",
    }),
    // The notified view and the positions are kept from the start, or not at all.
    snapshot: setting(Flag, {
      env: "PRESENCE_NOTIFY_NOTIFY_SNAPSHOT",
      default: false,
      description:
        "Opt-in: args.pos, the snapshot IQ (XEP-0059 pages) and the resync signal (PROTOCOL.md).",
    }),
  }),
  reconnect: section({
    initialMs: setting(Duration, {
      key: "initial",
      env: "PRESENCE_NOTIFY_RECONNECT_INITIAL",
      default: "500ms",
      live: true,
      description: "The first delay between connection attempts.",
    }),
    maxMs: setting(Duration, {
      key: "max",
      env: "PRESENCE_NOTIFY_RECONNECT_MAX",
      default: "30s",
      live: true,
      description: "The longest delay between connection attempts.",
    }),
  }),
  // The session list client and the ping timeout are built at start.
  resync: section({
    pingTimeoutMs: setting(Duration, {
      key: "ping_timeout",
      env: "PRESENCE_NOTIFY_RESYNC_PING_TIMEOUT",
      default: "10s",
      description: "How long a session not replayed after a reconnect has to answer a ping.",
    }),
    ejabberdApi: setting(ApiUrl, {
      key: "ejabberd_api",
      env: "PRESENCE_NOTIFY_RESYNC_EJABBERD_API",
      default: "",
      redact: "url-password",
      description:
        'ejabberd\'s mod_http_api base URL, asked who is online at each connect; "": none.',
    }),
  }),
  liveness: section({
    intervalMs: setting(Duration, {
      key: "interval",
      env: "PRESENCE_NOTIFY_LIVENESS_INTERVAL",
      default: "30s",
      live: true,
      description: "How often a quiet session is checked with a XEP-0199 ping.",
    }),
    timeoutMs: setting(Duration, {
      key: "timeout",
      env: "PRESENCE_NOTIFY_LIVENESS_TIMEOUT",
      default: "10s",
      live: true,
      description: "How long a checked session has to answer; two misses count as gone.",
    }),
    maxRate: setting(Rate, {
      key: "max_rate",
      env: "PRESENCE_NOTIFY_LIVENESS_MAX_RATE",
      default: 200,
      live: true,
      description: "Liveness pings per second at most; 0 turns the checks off.",
    }),
  }),
  mailbox: section({
    // The queue is allocated once.
    capacity: setting(Capacity, {
      env: "PRESENCE_NOTIFY_MAILBOX_CAPACITY",
      default: 100_000,
      description: "The most notifications queued for sending.",
    }),
    maxAgeMs: setting(Duration, {
      key: "max_age",
      env: "PRESENCE_NOTIFY_MAILBOX_MAX_AGE",
      default: "1h",
      live: true,
      description: "How long a notification may wait before it is dropped as stale.",
    }),
  }),
  log: section({
    level: setting(oneOf(LOG_LEVELS), {
      env: "PRESENCE_NOTIFY_LOG_LEVEL",
      default: "info",
      live: true,
      description: "pino's level for the log.",
    }),
    // The redaction is the logger's construction.
    redactJids: setting(Flag, {
      key: "redact_jids",
      env: "PRESENCE_NOTIFY_LOG_REDACT_JIDS",
      default: false,
      description: "JIDs in log lines as keyed pseudonyms, stanza excerpts dropped.",
    }),
  }),
  // Part of the supervisor's child spec, which is data validated once at start.
  shutdown: section({
    drainTimeoutMs: setting(Duration, {
      key: "drain_timeout",
      env: "PRESENCE_NOTIFY_SHUTDOWN_DRAIN_TIMEOUT",
      default: "5s",
      description: "On stop, how long to keep sending what is queued.",
    }),
  }),
  // The state file is opened once, at start.
  durability: section({
    mode: setting(oneOf(DURABILITY_MODES), {
      env: "PRESENCE_NOTIFY_DURABILITY_MODE",
      default: "memory",
      description: '"sqlite": the outbox and the session table survive a crash, in path.',
    }),
    path: setting(StatePath, {
      env: "PRESENCE_NOTIFY_DURABILITY_PATH",
      default: "/var/lib/presence-notify/state.db",
      description: "The state file for mode = sqlite; relative to the configuration file.",
    }),
    synchronous: setting(oneOf(["normal", "full"]), {
      env: "PRESENCE_NOTIFY_DURABILITY_SYNCHRONOUS",
      default: "normal",
      description:
        '"full": the WAL is fsynced at every commit, so a power loss undoes nothing committed.',
    }),
  }),
  // A daemon waits for the state file's lock only before it starts (src/app/standby.ts).
  standby: section({
    enabled: setting(Flag, {
      env: "PRESENCE_NOTIFY_STANDBY_ENABLED",
      default: false,
      description:
        "Durable mode: a state file locked by another daemon makes this one wait and take over.",
    }),
    pollIntervalMs: setting(Duration, {
      key: "poll_interval",
      env: "PRESENCE_NOTIFY_STANDBY_POLL_INTERVAL",
      default: "1s",
      description: "How often a standby tries the state file's lock: the takeover's first term.",
    }),
  }),
  // The listener, the signer and the pseudonym view are built with their keys at start.
  admin: section({
    listen: setting(Listen, {
      env: "PRESENCE_NOTIFY_ADMIN_LISTEN",
      default: "127.0.0.1:9464",
      description: 'The admin HTTP listener (metrics, health, dashboard), "host:port" or "off".',
    }),
    token: setting(optionalSecretOf(TokenText), {
      env: "PRESENCE_NOTIFY_ADMIN_TOKEN",
      secret: "optional",
      description: "The bearer token every admin endpoint but /healthz demands; none: no token.",
    }),
    pseudonymise: setting(Flag, {
      env: "PRESENCE_NOTIFY_ADMIN_PSEUDONYMISE",
      default: false,
      description: "Show JIDs on the dashboard as stable keyed-hash tokens.",
    }),
  }),
  signing: section({
    key: setting(optionalSecretOf(KeyText), {
      env: "PRESENCE_NOTIFY_SIGNING_KEY",
      secret: "optional",
      description: "Opt-in HMAC-SHA256 of each notification (protocol/signature.ts); none: off.",
    }),
    keyId: setting(KeyId, {
      key: "key_id",
      env: "PRESENCE_NOTIFY_SIGNING_KEY_ID",
      default: "k1",
      description: "The signing key's name, sent with each signature.",
    }),
  }),
  pseudonyms: section({
    key: setting(optionalSecretOf(KeyText), {
      env: "PRESENCE_NOTIFY_PSEUDONYMS_KEY",
      secret: "optional",
      description: "Opt-in: args.user as a keyed pseudonym (protocol/pseudonym.ts); none: off.",
    }),
  }),
  // Presence sources besides the XMPP stream; the broker link is set up at start.
  source: Schema.Struct({
    rabbitmq: section({
      url: setting(secretUrlOf(AmqpUrlText), {
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_URL",
        default: "",
        redact: "url-password",
        description:
          'MongooseIM\'s mod_event_pusher broker, amqp(s)://user:password@host/vhost; "": off.',
      }),
      exchange: setting(AmqpName, {
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_EXCHANGE",
        default: "presence",
        description: "The exchange MongooseIM publishes presences to.",
      }),
      // MongooseIM's presence_exchange.durable defaults to false too.
      exchangeDurable: setting(Flag, {
        key: "exchange_durable",
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_EXCHANGE_DURABLE",
        default: false,
        description:
          "Must match MongooseIM's presence_exchange.durable, or the second declare fails.",
      }),
      queue: setting(AmqpName, {
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_QUEUE",
        default: "presence-notify",
        description: "The daemon's own durable queue, bound to the exchange.",
      }),
      // A queue's arguments are fixed when it is declared: RabbitMQ refuses a change.
      singleActiveConsumer: setting(Flag, {
        key: "single_active_consumer",
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_SINGLE_ACTIVE_CONSUMER",
        default: false,
        description:
          "Declare the queue with x-single-active-consumer: of several daemons, one consumes.",
      }),
      prefetch: setting(Prefetch, {
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_PREFETCH",
        default: 100,
        description: "Unacknowledged messages in flight at most.",
      }),
      graphqlUrl: setting(secretUrlOf(GraphqlUrlText), {
        key: "graphql_url",
        env: "PRESENCE_NOTIFY_SOURCE_RABBITMQ_GRAPHQL_URL",
        default: "",
        redact: "url-password",
        description: 'MongooseIM\'s GraphQL admin endpoint, for reconciliation; "": none.',
      }),
    }),
  }),
});

/** The configuration the daemon runs with, as `ConfigSchema` decodes it. */
export type DaemonConfig = typeof ConfigSchema.Type;

/** Every key, dotted as in the file: "notify.flap_window". */
export type ConfigKey = FileKeys<typeof ConfigSchema.Encoded>;

export type ConfigSetting = AnnotatedSetting & { readonly key: ConfigKey };

/** Every key with its annotations, in the order written. */
export const SETTINGS = requireAnnotated(settingsOf(ConfigSchema)) as readonly ConfigSetting[];

export const CONFIG_KEYS = Object.fromEntries(SETTINGS.map((s) => [s.key, s.kind])) as {
  readonly [K in ConfigKey]: KeyKind;
};

/**
 * As written in the file. Secrets have none: without one, what it enables is
 * off, and without component.secret the daemon does not start.
 */
export const DEFAULTS: { readonly [K in ConfigKey]?: EncodedValue } = Object.fromEntries(
  SETTINGS.flatMap((s) => (s.annotations.secret ? [] : [[s.key, s.annotations.default]])),
);

/** Section ("source.rabbitmq") -> the names it may hold in the file, `<secret>_file` included. */
export const FILE_SECTIONS: ReadonlyMap<string, readonly string[]> = (() => {
  const sections = new Map<string, string[]>();
  for (const s of SETTINGS) {
    const names = s.annotations.secret ? [s.name, `${s.name}_file`] : [s.name];
    sections.set(s.section, [...(sections.get(s.section) ?? []), ...names]);
  }
  return sections;
})();
