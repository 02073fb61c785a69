import { fromCallback, fromPromise } from "xstate";
import { connectionMachine } from "../machines/connection.js";
import type { Logger } from "../telemetry/log.js";
import type { ComponentLink } from "../xmpp/component-link.js";

/**
 * The connection actor: the connection machine wired to a ComponentLink.
 * It owns reconnection; the link only ever makes one attempt at a time.
 */
export function connectionLogic(link: ComponentLink, logger: Logger) {
  return connectionMachine.provide({
    actors: {
      connect: fromPromise(async () => {
        try {
          await link.connect();
          logger.info({ domain: link.domain }, "component connected");
        } catch (err) {
          logger.warn({ err: (err as Error).message }, "component connection failed");
          throw err;
        }
      }),
      watch: fromCallback(({ sendBack }) => {
        const down = (reason: string) => {
          logger.warn({ reason }, "component connection lost");
          sendBack({ type: "link.down", reason });
        };
        link.on("offline", down);
        return () => link.off("offline", down);
      }),
      close: fromPromise(async () => {
        await link.close();
      }),
    },
  });
}
