import { resolveConfig } from "../../src/config/load.js";
import type { DaemonConfig } from "../../src/config/schema.js";

/** Any keys of any sections of the configuration. */
export type ConfigPatch = { readonly [S in keyof DaemonConfig]?: Partial<DaemonConfig[S]> };

/** The file's defaults (src/config/schema.ts), with server user "world". */
const DEFAULTS = resolveConfig({
  text: ["[component]", 'secret = "unit-test-secret"', "[notify]", 'server_user = "world"'].join(
    "\n",
  ),
  path: "test/support/config.ts",
  env: {},
  readFile: () => "",
}).config;

/**
 * The configuration the service runs with in unit tests: the defaults,
 * except a small mailbox whose mail never goes stale and the liveness
 * checks off (a test that wants them sets `liveness`), then `patch`.
 */
export function testConfig(patch: ConfigPatch = {}): DaemonConfig {
  return patchConfig(
    patchConfig(DEFAULTS, {
      mailbox: { capacity: 100, maxAgeMs: Number.POSITIVE_INFINITY },
      liveness: { intervalMs: 30_000, timeoutMs: 10_000, maxRate: 0 },
    }),
    patch,
  );
}

/** `config` with the keys of `patch` replaced, section by section (a reload's new file). */
export function patchConfig(config: DaemonConfig, patch: ConfigPatch): DaemonConfig {
  const next: Record<string, unknown> = { ...config };
  for (const [section, keys] of Object.entries(patch)) {
    next[section] = { ...(config[section as keyof DaemonConfig] as object), ...keys };
  }
  return next as unknown as DaemonConfig;
}
