import type { Env, EnvOverride } from "./env.js";
import { type ConfigKey, type ConfigSetting, SETTINGS } from "./schema.js";
import { type ReadFile, resolveSecret } from "./secret.js";
import type { ValueSource } from "./sources.js";

/**
 * The file's document with every key filled in, as the schema decodes it,
 * and where each value came from. Per key, highest first:
 *
 * 1. its variable (`env` in schema.ts; env.ts),
 * 2. the file,
 * 3. its `fallbackEnv`, if it has one (WORLD_SERVER_USERNAME, PROTOCOL.md),
 * 4. its default.
 *
 * Secrets come from secret.ts instead, and have no default. Keys the schema
 * does not know are left where they are, for the decode to refuse.
 */
export function layer(input: {
  readonly document: Readonly<Record<string, unknown>>;
  readonly overrides: ReadonlyMap<string, EnvOverride>;
  readonly env: Env;
  readonly path: string;
  readonly readFile: ReadFile;
}): { layered: Record<string, unknown>; sources: Partial<Record<ConfigKey, ValueSource>> } {
  const { document } = input;
  const sources: Partial<Record<ConfigKey, ValueSource>> = {};
  const layered: Record<string, unknown> = { ...document };
  for (const [section, settings] of bySection()) {
    // "source.rabbitmq" is the table [source.rabbitmq], inside the table `source`.
    const tablePath = section.split(".");
    const fromFile = tableAt(document, tablePath);
    // Not a table: leave it for the schema to report as the file's mistake.
    if (fromFile === null || (fromFile !== undefined && !isTable(fromFile))) continue;
    const table: Record<string, unknown> = { ...fromFile };
    for (const setting of settings) {
      sources[setting.key] = setting.annotations.secret
        ? layerSecret(setting, fromFile, table, input)
        : layerValue(setting, table, input);
    }
    setTableAt(layered, tablePath, table);
  }
  return { layered, sources };
}

function bySection(): Map<string, ConfigSetting[]> {
  const sections = new Map<string, ConfigSetting[]>();
  for (const setting of SETTINGS) {
    sections.set(setting.section, [...(sections.get(setting.section) ?? []), setting]);
  }
  return sections;
}

function layerValue(
  { key, name, annotations }: ConfigSetting,
  table: Record<string, unknown>,
  { overrides, env }: { readonly overrides: ReadonlyMap<string, EnvOverride>; readonly env: Env },
): ValueSource {
  const override = overrides.get(key);
  if (override !== undefined) {
    table[name] = override.value;
    return `env ${override.name}`;
  }
  if (Object.hasOwn(table, name)) return "file";
  const fallback = annotations.fallbackEnv;
  if (fallback !== undefined && env[fallback] !== undefined) {
    table[name] = env[fallback];
    return `env ${fallback}`;
  }
  table[name] = annotations.default;
  return "default";
}

function layerSecret(
  { section, name, annotations }: ConfigSetting,
  fromFile: Readonly<Record<string, unknown>> | undefined,
  table: Record<string, unknown>,
  input: {
    readonly overrides: ReadonlyMap<string, EnvOverride>;
    readonly env: Env;
    readonly path: string;
    readonly readFile: ReadFile;
  },
): ValueSource {
  const secret = resolveSecret({
    table: fromFile,
    overrides: input.overrides,
    path: input.path,
    readFile: input.readFile,
    credentialsDirectory: input.env.CREDENTIALS_DIRECTORY,
    secret: { section, name, required: annotations.secret === "required", env: annotations.env },
  });
  if (secret.value === undefined) delete table[name];
  else table[name] = secret.value;
  delete table[`${name}_file`];
  return secret.source;
}

/**
 * The table at `path` (undefined if absent); null when something on the way
 * is not a table, which the schema reports as the file's mistake.
 */
function tableAt(root: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
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
