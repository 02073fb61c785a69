import { statSync } from "node:fs";
import type { LoadedConfig } from "./load.js";
import { type ConfigKey, SETTINGS } from "./schema.js";

/**
 * A secret is only as private as the file it sits in. For each secret that
 * is set, the file it came from (a `*_file`, or the configuration file
 * itself when given inline) should not be open to every user of the host: a
 * file others can read (or write) is worth a warning at start, and from
 * check-config (not a refusal: a group's access is the operator's call).
 */
export interface ExposedSecret {
  key: ConfigKey;
  path: string;
  /** The file's permission bits, e.g. "0644". */
  mode: string;
  message: string;
}

const SECRET_KEYS = SETTINGS.filter((s) => s.annotations.secret).map((s) => s.key);

export function exposedSecrets(
  loaded: Pick<LoadedConfig, "sources" | "path">,
  stat: (path: string) => { mode: number } = statSync,
): ExposedSecret[] {
  const exposed: ExposedSecret[] = [];
  for (const key of SECRET_KEYS) {
    const source = loaded.sources[key];
    const path = source === "file" ? loaded.path : /^\w+_file (.+)$/.exec(source ?? "")?.[1];
    if (path === undefined) continue;
    let mode: number;
    try {
      mode = stat(path).mode & 0o777;
    } catch {
      continue; // read a moment ago; gone now is not this check's business
    }
    if ((mode & 0o007) === 0) continue;
    const octal = `0${mode.toString(8)}`;
    exposed.push({
      key,
      path,
      mode: octal,
      message: `${key} comes from ${path}, which any user of this host can read (mode ${octal}): chmod 600 it, or 640 with a group you trust`,
    });
  }
  return exposed;
}
