import { ConfigError } from "./errors.js";
import { FILE_SECTIONS, SETTINGS } from "./schema.js";
import type { EncodedValue, KeyKind } from "./setting.js";
import { closest } from "./suggest.js";

/**
 * Environment overrides. Every key has its variable (its `env` annotation in
 * schema.ts, `PRESENCE_NOTIFY_<SECTION>_<KEY>` in upper case), and such a
 * variable wins over the file; a secret's `<key>_file` is `<VARIABLE>_FILE`.
 * Lists are comma-separated ("flux.actor.*,flux.sim.*"; an empty value is the
 * empty list); integers are plain digits; flags are true or false.
 *
 * A variable that starts with the prefix of a known section but names no key
 * (PRESENCE_NOTIFY_NOTIFY_SERVERUSER) is an error, like an unknown key in the
 * file. Other PRESENCE_NOTIFY_* variables (PRESENCE_NOTIFY_CONFIG, say) are
 * left to whoever reads them.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export const ENV_PREFIX = "PRESENCE_NOTIFY_";

/** Variable -> the dotted key it gives (`component.secret_file` included) and how it is written. */
const BY_ENV_NAME: ReadonlyMap<string, { readonly key: string; readonly kind: KeyKind }> = new Map(
  SETTINGS.flatMap(({ key, kind, annotations: { env, secret } }) => {
    const own: [string, { key: string; kind: KeyKind }] = [env, { key, kind }];
    return secret ? [own, [`${env}_FILE`, { key: `${key}_file`, kind: "string" }]] : [own];
  }),
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
    const known = BY_ENV_NAME.get(name);
    if (known === undefined) {
      if (SECTION_PREFIXES.some((prefix) => name.startsWith(prefix))) throw unknownVariable(name);
      continue;
    }
    overrides.set(known.key, { name, value: convert(known, name, text) });
  }
  return overrides;
}

function convert(
  { key, kind }: { readonly key: string; readonly kind: KeyKind },
  name: string,
  text: string,
): EncodedValue {
  switch (kind) {
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
