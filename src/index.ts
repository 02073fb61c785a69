// `import ... from "presence-notify"`: the daemon inside another program, as
// the CLI's `start` runs it. What a server user's backend needs is in
// `presence-notify/consumer` (src/consumer.ts). Everything else is internal:
// the package's exports map blocks deep imports, and inside the daemon,
// modules import from the file that defines a thing.

export { type Daemon, type DaemonOptions, startDaemon } from "./app/daemon.js";
export { ConfigError, EX_CONFIG } from "./config/errors.js";
export { type LoadedConfig, loadConfig, resolveConfig } from "./config/load.js";
export type { DaemonConfig } from "./config/schema.js";
export type { Clock } from "./otp/clock.js";
export { exitCodeOf, type RootExit } from "./otp/supervisor-root.js";
export type { ChildSpec } from "./otp/supervisor-spec.js";
export { isStoreError, StoreError } from "./store/errors.js";
export { type DurableStore, openStore } from "./store/open.js";
export { createLogger, type Logger } from "./telemetry/log.js";
