import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Result, Schema } from "effect";
import { parse, TomlError } from "smol-toml";
import { formatDuration } from "./duration.js";
import { type Env, envOverrides, LEGACY_SERVER_USER_ENV } from "./env.js";
import { ConfigError } from "./errors.js";
import { issueToConfigError } from "./issue.js";
import { isLoopback, parseListen } from "./listen.js";
import { Secret } from "./redacted.js";
import {
  CONFIG_KEYS,
  type ConfigKey,
  type DaemonConfig,
  DEFAULTS,
  FILE_SECTIONS,
  LayeredConfig,
  type SecretConfigKey,
} from "./schema.js";
import { describeReadError, type ReadFile, resolveSecret, type SecretKey } from "./secret.js";
import { type ConfigSources, sourcePhrase, type ValueSource } from "./sources.js";

/**
 * Loading the configuration: parse the TOML, layer the environment and the
 * defaults over it while recording where each value came from, then validate
 * everything in one Schema decode. Precedence, highest first:
 *
 * 1. `PRESENCE_NOTIFY_<SECTION>_<KEY>` (see env.ts),
 * 2. the file,
 * 3. for `notify.server_user` only, `WORLD_SERVER_USERNAME` (PROTOCOL.md),
 * 4. the default.
 *
 * Any fault is thrown as one ConfigError; the CLI exits 78 (EX_CONFIG) on it.
 */

export interface LoadedConfig {
  readonly config: DaemonConfig;
  /** Dotted key -> "file" | "env NAME" | "default" | "secret_file PATH". */
  readonly sources: ConfigSources;
  /** The configuration file read. */
  readonly path: string;
}

/** The secret keys, resolved from the file, a `*_file` or the environment (secret.ts). */
const SECRETS: Readonly<Record<SecretConfigKey, SecretKey>> = {
  "component.secret": { section: "component", name: "secret", required: true },
  "admin.token": { section: "admin", name: "token", required: false },
  "signing.key": { section: "signing", name: "key", required: false },
  "pseudonyms.key": { section: "pseudonyms", name: "key", required: false },
};

const decode = Schema.decodeUnknownResult(LayeredConfig, { onExcessProperty: "error" });

/** Pure: everything from arguments; `readFile` serves `secret_file` only. Throws ConfigError. */
export function resolveConfig(input: {
  readonly text: string;
  readonly path: string;
  readonly env: Env;
  readonly readFile: ReadFile;
}): LoadedConfig {
  const { text, path, env, readFile } = input;
  const document = parseToml(text, path);
  const overrides = envOverrides(env);
  const sources: Partial<Record<ConfigKey, ValueSource>> = {};
  const layered: Record<string, unknown> = { ...document };

  for (const [section, names] of FILE_SECTIONS) {
    // "source.rabbitmq" is the table [source.rabbitmq], inside the table `source`.
    const tablePath = section.split(".");
    const fromFile = tableAt(document, tablePath);
    // Not a table: leave it for the schema to report as the file's mistake.
    if (fromFile === null || (fromFile !== undefined && !isTable(fromFile))) continue;
    const table: Record<string, unknown> = { ...fromFile };
    for (const name of names) {
      const key = `${section}.${name}`;
      if (!(key in CONFIG_KEYS) || key in SECRETS) continue;
      const override = overrides.get(key);
      const configKey = key as Exclude<ConfigKey, SecretConfigKey>;
      if (override !== undefined) {
        table[name] = override.value;
        sources[configKey] = `env ${override.name}`;
      } else if (Object.hasOwn(table, name)) {
        sources[configKey] = "file";
      } else if (key === "notify.server_user" && env[LEGACY_SERVER_USER_ENV] !== undefined) {
        table[name] = env[LEGACY_SERVER_USER_ENV];
        sources[configKey] = `env ${LEGACY_SERVER_USER_ENV}`;
      } else {
        table[name] = DEFAULTS[configKey];
        sources[configKey] = "default";
      }
    }
    for (const [key, secretKey] of Object.entries(SECRETS)) {
      if (secretKey.section !== section) continue;
      const secret = resolveSecret({
        table: fromFile,
        overrides,
        path,
        readFile,
        credentialsDirectory: env.CREDENTIALS_DIRECTORY,
        secret: secretKey,
      });
      if (secret.value === undefined) delete table[secretKey.name];
      else table[secretKey.name] = secret.value;
      delete table[`${secretKey.name}_file`];
      sources[key as SecretConfigKey] = secret.source;
    }
    setTableAt(layered, tablePath, table);
  }

  const decoded = decode(layered);
  if (Result.isFailure(decoded)) {
    throw issueToConfigError(decoded.failure.issue, { path, sources, layered });
  }
  const c = decoded.success;
  const complete = sources as ConfigSources;
  if (c.reconnect.initial > c.reconnect.max) {
    throw new ConfigError({
      key: "reconnect.initial",
      message: `reconnect.initial (${formatDuration(c.reconnect.initial)}, from ${sourcePhrase(complete["reconnect.initial"], path)}) must not be longer than reconnect.max (${formatDuration(c.reconnect.max)}, from ${sourcePhrase(complete["reconnect.max"], path)})`,
    });
  }
  if (c.notify.receipt_timeout > 0 && c.notify.from === "user") {
    throw new ConfigError({
      key: "notify.receipt_timeout",
      message: `notify.receipt_timeout (from ${sourcePhrase(complete["notify.receipt_timeout"], path)}) needs notify.from = "component": the receipt for a message sent from a user goes back to that user, never to the daemon`,
    });
  }
  if (c.pseudonyms.key !== undefined && c.notify.from === "user") {
    throw new ConfigError({
      key: "pseudonyms.key",
      message: `pseudonyms.key (from ${sourcePhrase(complete["pseudonyms.key"], path)}) needs notify.from = "component": a notification sent from the user's own JID would give away what the pseudonym hides`,
    });
  }
  const rabbit = c.source.rabbitmq;
  if (rabbit.graphql_url !== "" && c.resync.ejabberd_api !== "") {
    throw new ConfigError({
      key: "source.rabbitmq.graphql_url",
      message: `source.rabbitmq.graphql_url (from ${sourcePhrase(complete["source.rabbitmq.graphql_url"], path)}) and resync.ejabberd_api (from ${sourcePhrase(complete["resync.ejabberd_api"], path)}) are both set: the daemon reconciles with one server's session list; keep the one of the server it serves`,
    });
  }
  const listen = parseListen(c.admin.listen);
  const adminListen = listen.ok ? listen.address : undefined;
  if (adminListen && !isLoopback(adminListen.host) && c.admin.token === undefined) {
    throw new ConfigError({
      key: "admin.token",
      message: `admin.listen (${JSON.stringify(c.admin.listen)}, from ${sourcePhrase(complete["admin.listen"], path)}) is not a loopback address, and admin.token is not set: anyone who reaches that port could read the daemon's state. Set admin.token or admin.token_file (or PRESENCE_NOTIFY_ADMIN_TOKEN), or listen on 127.0.0.1`,
    });
  }
  const config: DaemonConfig = {
    component: {
      service: c.component.service,
      domain: c.component.domain,
      secret: new Secret(c.component.secret),
    },
    notify: {
      serverUser: c.notify.server_user,
      include: c.notify.include,
      exclude: c.notify.exclude,
      from: c.notify.from,
      domains: c.notify.domains,
      maxRate: c.notify.max_rate,
      flapWindowMs: c.notify.flap_window,
      sequence: c.notify.sequence,
      batch: c.notify.batch,
      userRate: c.notify.user_rate,
      receiptTimeoutMs: c.notify.receipt_timeout,
    },
    reconnect: { initialMs: c.reconnect.initial, maxMs: c.reconnect.max },
    resync: { pingTimeoutMs: c.resync.ping_timeout, ejabberdApi: c.resync.ejabberd_api },
    liveness: {
      intervalMs: c.liveness.interval,
      timeoutMs: c.liveness.timeout,
      maxRate: c.liveness.max_rate,
    },
    mailbox: { capacity: c.mailbox.capacity, maxAgeMs: c.mailbox.max_age },
    log: { level: c.log.level, redactJids: c.log.redact_jids },
    shutdown: { drainTimeoutMs: c.shutdown.drain_timeout },
    durability: {
      mode: c.durability.mode,
      // Like secret_file: a relative path in the file is relative to the file.
      path:
        complete["durability.path"] === "file"
          ? resolve(dirname(path), c.durability.path)
          : resolve(c.durability.path),
    },
    admin: {
      listen: adminListen,
      token: c.admin.token === undefined ? undefined : new Secret(c.admin.token),
      pseudonymise: c.admin.pseudonymise,
    },
    signing: {
      key: c.signing.key === undefined ? undefined : new Secret(c.signing.key),
      keyId: c.signing.key_id,
    },
    pseudonyms: {
      key: c.pseudonyms.key === undefined ? undefined : new Secret(c.pseudonyms.key),
    },
    source: {
      rabbitmq: {
        url: rabbit.url === "" ? undefined : new Secret(rabbit.url),
        exchange: rabbit.exchange,
        exchangeDurable: rabbit.exchange_durable,
        queue: rabbit.queue,
        prefetch: rabbit.prefetch,
        graphqlUrl: rabbit.graphql_url === "" ? undefined : new Secret(rabbit.graphql_url),
      },
    },
  };
  return { config, sources: complete, path };
}

/** Reads `path` (and any `secret_file`) from disk, then `resolveConfig`. Throws ConfigError. */
export function loadConfig(input: {
  readonly path: string;
  readonly env: Env;
  readonly readFile?: ReadFile;
}): LoadedConfig {
  const readFile = input.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  let text: string;
  try {
    text = readFile(input.path);
  } catch (err) {
    throw new ConfigError({
      key: undefined,
      message: `the configuration file ${input.path} cannot be read: ${describeReadError(err)}`,
    });
  }
  return resolveConfig({ text, path: input.path, env: input.env, readFile });
}

function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text, { unsafeKeyBehaviour: "throw" });
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
      throw new ConfigError({
        key: undefined,
        message: `${path}:${err.line}:${err.column}: the configuration file is not valid TOML (line ${err.line}, column ${err.column}): ${reason}`,
      });
    }
    throw err;
  }
}

/**
 * The table at `path` (undefined if absent); null when something on the way
 * is not a table, which the schema reports as the file's mistake.
 */
function tableAt(root: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = root;
  for (const part of path) {
    if (value === undefined) return undefined;
    if (!isTable(value)) return null;
    value = value[part];
  }
  return value;
}

/** Puts `table` at `path`, copying the tables on the way (the document is not changed). */
function setTableAt(
  root: Record<string, unknown>,
  path: readonly string[],
  table: Record<string, unknown>,
): void {
  const [first = "", ...rest] = path;
  if (rest.length === 0) {
    root[first] = table;
    return;
  }
  const inner = root[first];
  const copy: Record<string, unknown> = isTable(inner) ? { ...inner } : {};
  root[first] = copy;
  setTableAt(copy, rest, table);
}

function isTable(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}
