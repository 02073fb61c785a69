import { Schema } from "effect";
import type { LoadedConfig } from "./load.js";
import { type ConfigKey, type DaemonConfig, SETTINGS } from "./schema.js";
import type { AnnotatedSetting } from "./setting.js";
import { redactUrl } from "./url.js";

/**
 * The effective configuration for `check-config`: one line per key of the
 * schema, written as in the file, with where the value came from:
 *
 *     notify.server_user   = "world"       (file)
 *     component.secret     = [redacted]    (secret_file /etc/presence-notify/secret)
 *
 * Secrets (the component secret, the admin token, the keys) are never read
 * here, only whether they are set; a URL that may hold a password is shown
 * without it.
 */
export function describeConfig(loaded: Pick<LoadedConfig, "config" | "sources">): string {
  const { config, sources } = loaded;
  const values = displayValues(config);
  const keys = SETTINGS.map((s) => s.key);
  const keyWidth = Math.max(...keys.map((k) => k.length));
  const valueWidth = Math.max(...keys.map((k) => values[k].length));
  return keys
    .map((k) => `${k.padEnd(keyWidth)} = ${values[k].padEnd(valueWidth)}   (${sources[k]})`)
    .join("\n");
}

/** Every key's value as written in the file; secrets as [redacted]. Reload diffs these. */
export function displayValues(config: DaemonConfig): { readonly [K in ConfigKey]: string } {
  return Object.fromEntries(
    SETTINGS.map((setting) => [setting.key, display(setting, valueAt(config, setting.path))]),
  ) as { readonly [K in ConfigKey]: string };
}

/** The value at `path` ("notify", "flapWindowMs") of a decoded configuration. */
export function valueAt(config: DaemonConfig, path: readonly string[]): unknown {
  let value: unknown = config;
  for (const part of path) value = (value as Record<string, unknown>)[part];
  return value;
}

// Checks off: a display never refuses a value, whoever built the configuration.
const encoders = new Map<string, (value: unknown) => unknown>(
  SETTINGS.map((s) => [
    s.key,
    Schema.encodeUnknownSync(s.schema as Schema.Codec<unknown, unknown>, { disableChecks: true }),
  ]),
);

function display(setting: AnnotatedSetting, value: unknown): string {
  const { secret, redact } = setting.annotations;
  if (secret) return value === undefined ? "(none)" : "[redacted]";
  const written = encoders.get(setting.key)?.(value);
  if (redact === "url-password") {
    return quote(written === "" || written === undefined ? "" : redactUrl(String(written)));
  }
  if (Array.isArray(written)) return `[${written.map((item) => quote(String(item))).join(", ")}]`;
  return typeof written === "string" ? quote(written) : String(written);
}

function quote(text: string): string {
  return JSON.stringify(text);
}
