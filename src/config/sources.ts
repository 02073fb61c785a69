import type { ConfigKey } from "./schema.js";

/**
 * Where a resolved value came from: the configuration file, an environment
 * variable (named), the built-in default, or, for a secret, the file named
 * by `secret_file` / `token_file` / `key_file`.
 */
export type ValueSource =
  | "file"
  | "default"
  | `env ${string}`
  | `secret_file ${string}`
  | `token_file ${string}`
  | `key_file ${string}`;

export type ConfigSources = { readonly [K in ConfigKey]: ValueSource };

/** The source as it reads inside a sentence: "file /etc/x.toml", "env NAME", "the default". */
export function sourcePhrase(source: ValueSource | undefined, path: string): string {
  if (source === undefined || source === "file") return `file ${path}`;
  if (source === "default") return "the default";
  return source;
}
