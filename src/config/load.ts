import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Result, Schema } from "effect";
import { parse, TomlError } from "smol-toml";
import { type Env, envOverrides } from "./env.js";
import { ConfigError } from "./errors.js";
import { issueToConfigError } from "./issue.js";
import { layer } from "./layer.js";
import { checkCombinations } from "./rules.js";
import { ConfigSchema, type DaemonConfig } from "./schema.js";
import { describeReadError, type ReadFile } from "./secret.js";
import type { ConfigSources } from "./sources.js";

/**
 * Loading the configuration: parse the TOML, layer the environment and the
 * defaults over it while recording where each value came from (layer.ts),
 * then validate everything in one Schema decode, and the keys that must go
 * together (rules.ts).
 *
 * Any fault is thrown as one ConfigError; the CLI exits 78 (EX_CONFIG) on it.
 */

export interface LoadedConfig {
  readonly config: DaemonConfig;
  /** Dotted key -> "file" | "env NAME" | "default" | "secret_file PATH". */
  readonly sources: ConfigSources;
  /** The configuration file read. */
  readonly path: string;
}

const decode = Schema.decodeUnknownResult(ConfigSchema, { onExcessProperty: "error" });

/** Pure: everything from arguments; `readFile` serves `secret_file` only. Throws ConfigError. */
export function resolveConfig(input: {
  readonly text: string;
  readonly path: string;
  readonly env: Env;
  readonly readFile: ReadFile;
}): LoadedConfig {
  const { text, path, env, readFile } = input;
  const document = parseToml(text, path);
  const overrides = envOverrides(env);
  const { layered, sources } = layer({ document, overrides, env, path, readFile });
  const decoded = decode(layered);
  if (Result.isFailure(decoded)) {
    throw issueToConfigError(decoded.failure.issue, { path, sources, layered });
  }
  // Every key has a source once the decode succeeded: each was layered.
  const complete = sources as ConfigSources;
  checkCombinations(decoded.success, complete, path);
  const { durability } = decoded.success;
  const config: DaemonConfig = {
    ...decoded.success,
    durability: {
      ...durability,
      // Like secret_file: a relative path in the file is relative to the file.
      path:
        complete["durability.path"] === "file"
          ? resolve(dirname(path), durability.path)
          : resolve(durability.path),
    },
  };
  return { config, sources: complete, path };
}

/** Reads `path` (and any `secret_file`) from disk, then `resolveConfig`. Throws ConfigError. */
export function loadConfig(input: {
  readonly path: string;
  readonly env: Env;
  readonly readFile?: ReadFile;
}): LoadedConfig {
  const readFile = input.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  let text: string;
  try {
    text = readFile(input.path);
  } catch (err) {
    throw new ConfigError({
      key: undefined,
      message: `the configuration file ${input.path} cannot be read: ${describeReadError(err)}`,
    });
  }
  return resolveConfig({ text, path: input.path, env: input.env, readFile });
}

function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text, { unsafeKeyBehaviour: "throw" });
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
      throw new ConfigError({
        key: undefined,
        message: `${path}:${err.line}:${err.column}: the configuration file is not valid TOML (line ${err.line}, column ${err.column}): ${reason}`,
      });
    }
    throw err;
  }
}
