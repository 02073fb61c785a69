import { formatDuration } from "./duration.js";
import { ConfigError } from "./errors.js";
import { isLoopback, urlOf } from "./listen.js";
import type { DaemonConfig } from "./schema.js";
import { type ConfigSources, sourcePhrase } from "./sources.js";

/**
 * What no single key's schema can see: keys that are each valid but do not
 * go together. Throws the first ConfigError, naming both keys and their
 * sources.
 */
export function checkCombinations(c: DaemonConfig, sources: ConfigSources, path: string): void {
  const from = (key: keyof ConfigSources) => `from ${sourcePhrase(sources[key], path)}`;
  if (c.reconnect.initialMs > c.reconnect.maxMs) {
    throw new ConfigError({
      key: "reconnect.initial",
      message: `reconnect.initial (${formatDuration(c.reconnect.initialMs)}, ${from("reconnect.initial")}) must not be longer than reconnect.max (${formatDuration(c.reconnect.maxMs)}, ${from("reconnect.max")})`,
    });
  }
  if (c.notify.receiptTimeoutMs > 0 && c.notify.from === "user") {
    throw new ConfigError({
      key: "notify.receipt_timeout",
      message: `notify.receipt_timeout (${from("notify.receipt_timeout")}) needs notify.from = "component": the receipt for a message sent from a user goes back to that user, never to the daemon`,
    });
  }
  if (c.pseudonyms.key !== undefined && c.notify.from === "user") {
    throw new ConfigError({
      key: "pseudonyms.key",
      message: `pseudonyms.key (${from("pseudonyms.key")}) needs notify.from = "component": a notification sent from the user's own JID would give away what the pseudonym hides`,
    });
  }
  if (c.source.rabbitmq.graphqlUrl !== undefined && c.resync.ejabberdApi !== "") {
    throw new ConfigError({
      key: "source.rabbitmq.graphql_url",
      message: `source.rabbitmq.graphql_url (${from("source.rabbitmq.graphql_url")}) and resync.ejabberd_api (${from("resync.ejabberd_api")}) are both set: the daemon reconciles with one server's session list; keep the one of the server it serves`,
    });
  }
  if (c.notify.snapshot && c.notify.level === "user") {
    throw new ConfigError({
      key: "notify.snapshot",
      message: `notify.snapshot (${from("notify.snapshot")}) and notify.level = "user" (${from("notify.level")}) do not go together yet: the snapshot lists sessions (full JIDs), while user-level notifications are about bare JIDs, so a consumer could not splice the two; choose one`,
    });
  }
  if (c.standby.enabled && c.durability.mode !== "sqlite") {
    throw new ConfigError({
      key: "standby.enabled",
      message: `standby.enabled (${from("standby.enabled")}) needs durability.mode = "sqlite": a standby waits for the state file's lock, which memory mode has none of. Across machines see README, "A standby that takes over"`,
    });
  }
  const listen = c.admin.listen;
  if (listen !== undefined && !isLoopback(listen.host) && c.admin.token === undefined) {
    const text = urlOf(listen).slice("http://".length);
    throw new ConfigError({
      key: "admin.token",
      message: `admin.listen (${JSON.stringify(text)}, ${from("admin.listen")}) is not a loopback address, and admin.token is not set: anyone who reaches that port could read the daemon's state. Set admin.token or admin.token_file (or PRESENCE_NOTIFY_ADMIN_TOKEN), or listen on 127.0.0.1`,
    });
  }
}
