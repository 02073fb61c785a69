// The public surface of presence-notify as a library, by name. Inside the
// daemon, modules import from the file that defines a thing.

export {
  type DynamicPool,
  dynamicSupervisorLogic,
  poolOf,
} from "./actors/dynamic-supervisor.js";
export { SessionRegistry } from "./actors/session-registry.js";
export { ShutdownExit, shutdownExit } from "./actors/supervised-child.js";
export { supervisorLogic } from "./actors/supervisor.js";
export { exitCodeOf, type SupervisorHandle, startSupervisor } from "./actors/supervisor-root.js";
export type { ChildSpec, SupervisorFlags } from "./actors/supervisor-spec.js";
export { type Clock, systemClock } from "./clock.js";
export { ConfigError } from "./config/errors.js";
export { loadConfig, resolveConfig } from "./config/load.js";
export type { DaemonConfig } from "./config/schema.js";
export { type Daemon, startDaemon } from "./daemon.js";
export { sessionMachine } from "./machines/session.js";
export { step as stepSession } from "./machines/session-table.js";
export {
  type Notification,
  newNotification,
  notificationStanza,
  payloadJson,
} from "./protocol/notification.js";
export { payloadPseudonym } from "./protocol/pseudonym.js";
export {
  canonicalNotification,
  type Signature,
  signer,
  verifyNotification,
} from "./protocol/signature.js";
