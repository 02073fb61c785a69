import { createInspector } from "@statelyai/inspect";
import type { InspectionEvent, Observer } from "xstate";
import type { SessionObserver } from "../sessions/session-registry.js";
import { type InspectorServer, startInspectorServer } from "./inspector-server.js";
import type { InspectAddress } from "./loopback-address.js";
import { sessionInspection } from "./session-inspection.js";

/**
 * `start --inspect`: the loopback WebSocket server, `@statelyai/inspect`'s
 * inspector writing to it, and the two ways the daemon feeds it: XState's
 * `inspect` observer for the live actors (the supervisor and its children)
 * and a session observer for the sessions the registry holds as table codes.
 *
 * Without `--inspect` none of this exists: no observer is installed anywhere.
 */
export interface Inspection {
  /** For `createActor(..., { inspect })`, via `startSupervisor`. */
  readonly actors: Observer<InspectionEvent>;
  /** For the session registry, via the service (src/app/service.ts). */
  readonly sessions: SessionObserver;
  readonly url: string;
  readonly page: string;
  /** Sends what is still pending (the library defers to a 0 ms timer), then closes the server. */
  close(): Promise<void>;
}

export async function startInspection(address: InspectAddress): Promise<Inspection> {
  const server: InspectorServer = await startInspectorServer(address);
  const inspector = createInspector({ send: (event) => server.send(event) });
  return {
    actors: inspector.inspect,
    sessions: sessionInspection(inspector.inspect),
    url: server.url,
    page: server.page,
    async close() {
      // The library hands each event to a 0 ms timer; timers of one duration
      // fire in order, so this one runs after the last stopped actor's.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await server.close();
    },
  };
}
