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
 * No message here ever quotes the secret.
 */

export type ReadFile = (path: string) => string;

export function resolveSecret(input: {
  readonly table: Readonly<Record<string, unknown>> | undefined;
  readonly overrides: ReadonlyMap<string, EnvOverride>;
  readonly path: string;
  readonly readFile: ReadFile;
}): { value: unknown; source: ValueSource } {
  const { table, overrides, path, readFile } = input;
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
    const file = resolve(String(envSecretFile.value));
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
    const file = resolve(dirname(path), named);
    return { value: read(file, `file ${path}`, readFile), source: `secret_file ${file}` };
  }
  throw new ConfigError({
    key: "component.secret",
    message: `component.secret is not set: give secret or secret_file under [component] in file ${path}, or set PRESENCE_NOTIFY_COMPONENT_SECRET or PRESENCE_NOTIFY_COMPONENT_SECRET_FILE`,
  });
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
