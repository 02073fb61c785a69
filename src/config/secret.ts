import { dirname, resolve } from "node:path";
import type { EnvOverride } from "./env.js";
import { ConfigError } from "./errors.js";
import type { ValueSource } from "./sources.js";

/**
 * Where `component.secret` comes from, highest first:
 * env PRESENCE_NOTIFY_COMPONENT_SECRET, env PRESENCE_NOTIFY_COMPONENT_SECRET_FILE,
 * then the file's `secret` or `secret_file` (giving both is an error: which
 * one was meant?). A relative `secret_file` in the file is relative to the
 * configuration file's directory; one from the environment, to the working
 * directory. One trailing line break is what `echo` leaves: trailing CR/LF
 * are removed.
 *
 * A `secret_file` may start with `${CREDENTIALS_DIRECTORY}`: systemd's
 * LoadCredential= puts the secret in a directory private to the service
 * and names it in that variable (config/presence-notify.service). TOML does
 * not expand variables, so this one is expanded here, and only this one.
 *
 * No message here ever quotes the secret.
 */

// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text an operator writes in the file.
export const CREDENTIALS_VARIABLE = "${CREDENTIALS_DIRECTORY}";

export type ReadFile = (path: string) => string;

export function resolveSecret(input: {
  readonly table: Readonly<Record<string, unknown>> | undefined;
  readonly overrides: ReadonlyMap<string, EnvOverride>;
  readonly path: string;
  readonly readFile: ReadFile;
  /** The environment's CREDENTIALS_DIRECTORY (systemd), if set. */
  readonly credentialsDirectory?: string | undefined;
}): { value: unknown; source: ValueSource } {
  const { table, overrides, path, readFile } = input;
  const expand = (named: string, from: string) =>
    expandCredentials(named, from, input.credentialsDirectory);
  const envSecret = overrides.get("component.secret");
  const envSecretFile = overrides.get("component.secret_file");
  if (envSecret !== undefined && envSecretFile !== undefined) {
    throw new ConfigError({
      key: "component.secret",
      message: `component.secret is given twice in the environment, by ${envSecret.name} and by ${envSecretFile.name}; set only one`,
    });
  }
  if (envSecret !== undefined) return { value: envSecret.value, source: `env ${envSecret.name}` };
  if (envSecretFile !== undefined) {
    const file = resolve(expand(String(envSecretFile.value), `env ${envSecretFile.name}`));
    return {
      value: read(file, `env ${envSecretFile.name}`, readFile),
      source: `secret_file ${file}`,
    };
  }
  const hasSecret = table !== undefined && Object.hasOwn(table, "secret");
  const hasSecretFile = table !== undefined && Object.hasOwn(table, "secret_file");
  if (hasSecret && hasSecretFile) {
    throw new ConfigError({
      key: "component.secret",
      message: `component.secret is given twice in file ${path}, by secret and by secret_file; keep only one`,
    });
  }
  if (hasSecret) return { value: table?.secret, source: "file" };
  if (hasSecretFile) {
    const named = table?.secret_file;
    if (typeof named !== "string" || named === "") {
      throw new ConfigError({
        key: "component.secret_file",
        message: `component.secret_file from file ${path} must be the path of a file holding the secret, such as "/etc/presence-notify/secret"`,
      });
    }
    const file = resolve(dirname(path), expand(named, `file ${path}`));
    return { value: read(file, `file ${path}`, readFile), source: `secret_file ${file}` };
  }
  throw new ConfigError({
    key: "component.secret",
    message: `component.secret is not set: give secret or secret_file under [component] in file ${path}, or set PRESENCE_NOTIFY_COMPONENT_SECRET or PRESENCE_NOTIFY_COMPONENT_SECRET_FILE`,
  });
}

function expandCredentials(named: string, from: string, directory: string | undefined): string {
  if (!named.startsWith(CREDENTIALS_VARIABLE)) return named;
  if (directory === undefined || directory === "") {
    throw new ConfigError({
      key: "component.secret_file",
      message: `component.secret_file from ${from} starts with ${CREDENTIALS_VARIABLE}, but CREDENTIALS_DIRECTORY is not set: run the daemon under systemd with LoadCredential=component-secret:/etc/presence-notify/secret (config/presence-notify.service), or name the file itself`,
    });
  }
  return directory + named.slice(CREDENTIALS_VARIABLE.length);
}

function read(file: string, from: string, readFile: ReadFile): string {
  try {
    return readFile(file).replace(/[\r\n]+$/, "");
  } catch (err) {
    throw new ConfigError({
      key: "component.secret_file",
      message: `component.secret_file from ${from} names ${file}, which cannot be read: ${describeReadError(err)}`,
    });
  }
}

export function describeReadError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return err instanceof Error ? err.message : String(err);
}
