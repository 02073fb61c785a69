import { formatDuration } from "./duration.js";
import { type ListenAddress, urlOf } from "./listen.js";
import type { LoadedConfig } from "./load.js";
import { CONFIG_KEYS, type ConfigKey, type DaemonConfig } from "./schema.js";
import { redactUrl } from "./url.js";

/**
 * The effective configuration for `check-config`: one line per key, written
 * as in the file, with where the value came from:
 *
 *     notify.server_user   = "world"       (file)
 *     component.secret     = [redacted]    (secret_file /etc/presence-notify/secret)
 *
 * The secret, the admin token and the signing key are never read here; only their sources are printed.
 */
export function describeConfig(loaded: Pick<LoadedConfig, "config" | "sources">): string {
  const { config, sources } = loaded;
  const values = displayValues(config);
  const keys = Object.keys(CONFIG_KEYS) as ConfigKey[];
  const keyWidth = Math.max(...keys.map((k) => k.length));
  const valueWidth = Math.max(...keys.map((k) => values[k].length));
  return keys
    .map((k) => `${k.padEnd(keyWidth)} = ${values[k].padEnd(valueWidth)}   (${sources[k]})`)
    .join("\n");
}

/** Every key's value as written in the file; the secret as [redacted]. Reload diffs these. */
export function displayValues(config: DaemonConfig): { readonly [K in ConfigKey]: string } {
  const { rabbitmq: rabbit } = config.source;
  return {
    "component.service": quote(config.component.service),
    "component.domain": quote(config.component.domain),
    "component.secret": "[redacted]",
    "notify.server_user": quote(config.notify.serverUser),
    "notify.include": list(config.notify.include),
    "notify.exclude": list(config.notify.exclude),
    "notify.from": quote(config.notify.from),
    "notify.domains": list(config.notify.domains),
    "notify.max_rate": String(config.notify.maxRate),
    "notify.sequence": quote(config.notify.sequence),
    "notify.batch": String(config.notify.batch),
    "notify.user_rate": String(config.notify.userRate),
    "notify.flap_window": quote(offOrDuration(config.notify.flapWindowMs)),
    "notify.receipt_timeout": quote(offOrDuration(config.notify.receiptTimeoutMs)),
    "reconnect.initial": quote(formatDuration(config.reconnect.initialMs)),
    "reconnect.max": quote(formatDuration(config.reconnect.maxMs)),
    "resync.ping_timeout": quote(formatDuration(config.resync.pingTimeoutMs)),
    // It may hold the admin's password (user:pass@): shown without it.
    "resync.ejabberd_api": quote(
      config.resync.ejabberdApi === "" ? "" : redactUrl(config.resync.ejabberdApi),
    ),
    "liveness.interval": quote(formatDuration(config.liveness.intervalMs)),
    "liveness.timeout": quote(formatDuration(config.liveness.timeoutMs)),
    "liveness.max_rate": String(config.liveness.maxRate),
    "mailbox.capacity": String(config.mailbox.capacity),
    "mailbox.max_age": quote(formatDuration(config.mailbox.maxAgeMs)),
    "log.level": quote(config.log.level),
    "log.redact_jids": String(config.log.redactJids),
    "shutdown.drain_timeout": quote(formatDuration(config.shutdown.drainTimeoutMs)),
    "durability.mode": quote(config.durability.mode),
    "durability.path": quote(config.durability.path),
    "admin.listen": quote(config.admin.listen ? listenText(config.admin.listen) : "off"),
    // Like the component secret, only whether it is set shows.
    "admin.token": config.admin.token === undefined ? "(none)" : "[redacted]",
    "admin.pseudonymise": String(config.admin.pseudonymise),
    "signing.key": config.signing.key === undefined ? "(none)" : "[redacted]",
    "signing.key_id": quote(config.signing.keyId),
    "pseudonyms.key": config.pseudonyms.key === undefined ? "(none)" : "[redacted]",
    // The URL shows without its password.
    "source.rabbitmq.url": quote(rabbit.url === undefined ? "" : redactUrl(rabbit.url.value())),
    "source.rabbitmq.exchange": quote(rabbit.exchange),
    "source.rabbitmq.exchange_durable": String(rabbit.exchangeDurable),
    "source.rabbitmq.queue": quote(rabbit.queue),
    "source.rabbitmq.prefetch": String(rabbit.prefetch),
    "source.rabbitmq.graphql_url": quote(
      rabbit.graphqlUrl === undefined ? "" : redactUrl(rabbit.graphqlUrl.value()),
    ),
  };
}

function offOrDuration(ms: number): string {
  return ms === 0 ? "off" : formatDuration(ms);
}

function listenText(address: ListenAddress): string {
  return urlOf(address).slice("http://".length);
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function list(items: readonly string[]): string {
  return `[${items.map(quote).join(", ")}]`;
}
