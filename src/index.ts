// The public surface of presence-notify as a library, by name. Inside the
// daemon, modules import from the file that defines a thing.

export { type Daemon, startDaemon } from "./app/daemon.js";
export { ConfigError } from "./config/errors.js";
export { loadConfig, resolveConfig } from "./config/load.js";
export type { DaemonConfig } from "./config/schema.js";
export { sessionMachine } from "./machines/session.js";
export { step as stepSession } from "./machines/session-table.js";
export { type Clock, systemClock } from "./otp/clock.js";
export {
  type DynamicPool,
  dynamicSupervisorLogic,
  poolOf,
} from "./otp/dynamic-supervisor.js";
export { ShutdownExit, shutdownExit } from "./otp/supervised-child.js";
export { supervisorLogic } from "./otp/supervisor.js";
export { exitCodeOf, type SupervisorHandle, startSupervisor } from "./otp/supervisor-root.js";
export type { ChildSpec, SupervisorFlags } from "./otp/supervisor-spec.js";
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
export { SessionRegistry } from "./sessions/session-registry.js";
