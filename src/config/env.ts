import { ConfigError } from "./errors.js";
import {
  CONFIG_KEYS,
  type EncodedValue,
  FILE_SECTIONS,
  INDIRECT_KEYS,
  type KeyKind,
} from "./schema.js";
import { closest } from "./suggest.js";

/**
 * Environment overrides. Every file key `[section] key` can be given as
 * `PRESENCE_NOTIFY_<SECTION>_<KEY>` (upper case), and such a variable wins
 * over the file. Lists are comma-separated ("flux.actor.*,flux.sim.*"; an empty
 * value is the empty list); integers are plain digits; flags are true or false.
 *
 * A variable that starts with the prefix of a known section but names no key
 * (PRESENCE_NOTIFY_NOTIFY_SERVERUSER) is an error, like an unknown key in the
 * file. Other PRESENCE_NOTIFY_* variables (PRESENCE_NOTIFY_CONFIG, say) are
 * left to whoever reads them.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export const ENV_PREFIX = "PRESENCE_NOTIFY_";

/**
 * PROTOCOL.md: the server user comes from the file's `server_user`, else this
 * variable, else "server". Kept for consumers of mod_presence_notify.
 */
export const LEGACY_SERVER_USER_ENV = "WORLD_SERVER_USERNAME";

export function envName(key: string): string {
  return `${ENV_PREFIX}${key.replaceAll(".", "_").toUpperCase()}`;
}

const KINDS: ReadonlyMap<string, KeyKind> = new Map(
  Object.entries({ ...CONFIG_KEYS, ...INDIRECT_KEYS }),
);

const BY_ENV_NAME: ReadonlyMap<string, string> = new Map(
  [...KINDS.keys()].map((key) => [envName(key), key]),
);

const SECTION_PREFIXES = [...FILE_SECTIONS.keys()].map(
  (s) => `${ENV_PREFIX}${s.replaceAll(".", "_").toUpperCase()}_`,
);

export interface EnvOverride {
  /** The variable's name, for the sources map and error messages. */
  readonly name: string;
  readonly value: EncodedValue;
}

/** The overrides present in `env`, by dotted key (including `component.secret_file`). */
export function envOverrides(env: Env): ReadonlyMap<string, EnvOverride> {
  const overrides = new Map<string, EnvOverride>();
  for (const [name, text] of Object.entries(env)) {
    if (text === undefined || !name.startsWith(ENV_PREFIX)) continue;
    const key = BY_ENV_NAME.get(name);
    if (key === undefined) {
      if (SECTION_PREFIXES.some((prefix) => name.startsWith(prefix))) throw unknownVariable(name);
      continue;
    }
    overrides.set(key, { name, value: convert(key, name, text) });
  }
  return overrides;
}

function convert(key: string, name: string, text: string): EncodedValue {
  switch (KINDS.get(key)) {
    case "list":
      return text.trim() === "" ? [] : text.split(",").map((item) => item.trim());
    case "integer":
      if (!/^[0-9]+$/.test(text.trim())) {
        throw new ConfigError({
          key,
          message: `${key} from env ${name} must be a positive whole number, such as 100000; got ${JSON.stringify(text)}`,
        });
      }
      return Number(text.trim());
    case "boolean": {
      const word = text.trim().toLowerCase();
      if (word === "true" || word === "false") return word === "true";
      throw new ConfigError({
        key,
        message: `${key} from env ${name} must be true or false; got ${JSON.stringify(text)}`,
      });
    }
    default:
      return text;
  }
}

function unknownVariable(name: string): ConfigError {
  const near = closest(name, [...BY_ENV_NAME.keys()]);
  const hint = near === undefined ? "" : `; did you mean ${near}?`;
  return new ConfigError({
    key: undefined,
    message: `unknown environment variable ${name}${hint} It starts like a configuration override but names no key; the overrides are ${[...BY_ENV_NAME.keys()].join(", ")}.`,
  });
}
