import { Data } from "effect";

/**
 * The one error configuration loading produces. `message` is a sentence an
 * operator can act on: it names the key, where the value came from, what is
 * wrong and what is expected. It never contains the secret.
 *
 * `key` is the dotted key ("notify.server_user"), or undefined when the fault
 * is the file as a whole (missing, unreadable, not TOML).
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly key: string | undefined;
  readonly message: string;
}> {}

export function isConfigError(u: unknown): u is ConfigError {
  return u instanceof ConfigError;
}

/** sysexits.h EX_CONFIG: the exit status for "configuration error". */
export const EX_CONFIG = 78;
