// `import ... from "presence-notify/client"`: a world server's side, whole.
// Logs in as the server user, keeps the view of who is online (a snapshot
// spliced with the notifications), reconnects. Behind it: @xmpp/client and
// xstate; for verification alone, "presence-notify/consumer" has no
// dependencies.

import { resolveClientOptions } from "./client/options.js";
import { ClientRuntime } from "./client/runtime.js";
import type { PresenceClient, PresenceClientOptions } from "./client/types.js";
import { xmppConnector } from "./client/xmpp-connector.js";

export { InvalidClientOptions } from "./client/options.js";
export type {
  ClientHealth,
  Clock,
  Presence,
  PresenceChange,
  PresenceClient,
  PresenceClientEvents,
  PresenceClientOptions,
  SnapshotEvent,
} from "./client/types.js";

/** Makes a client; `start()` connects it. Throws `InvalidClientOptions` with a sentence. */
export function createPresenceClient(options: PresenceClientOptions): PresenceClient {
  const settings = resolveClientOptions(options);
  return new ClientRuntime(settings, xmppConnector(settings));
}
