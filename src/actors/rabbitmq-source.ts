import { fromCallback, fromPromise } from "xstate";
import { connectionMachine } from "../machines/connection.js";
import type { RabbitMqSource } from "../sources/rabbitmq.js";
import type { Logger } from "../telemetry/log.js";

/**
 * The RabbitMQ source as a supervised child: the same lifecycle as the XMPP
 * connection (src/machines/connection.ts: connecting -> online -> backoff ->
 * connecting ..., closing -> stopped), wired to a RabbitMqSource. A failed
 * attempt (broker down, login refused, an exchange declared with another
 * durability) is not a crash: it waits its backoff and tries again, logged
 * each time, so a misconfiguration is loud but never a restart storm.
 */
export function rabbitmqSourceLogic(source: RabbitMqSource, logger: Logger) {
  return connectionMachine.provide({
    actors: {
      connect: fromPromise(async () => {
        try {
          await source.connect();
        } catch (err) {
          logger.warn(
            { broker: source.broker, err: (err as Error).message },
            "rabbitmq source connection failed",
          );
          throw err;
        }
      }),
      watch: fromCallback(({ sendBack }) => {
        const down = (reason: string) => {
          logger.warn({ broker: source.broker, reason }, "rabbitmq source connection lost");
          sendBack({ type: "link.down", reason });
        };
        // Lost between the connect resolving and this watch starting.
        if (!source.connected) {
          down("connection lost before it was watched");
          return () => undefined;
        }
        source.on("down", down);
        return () => source.off("down", down);
      }),
      close: fromPromise(async () => {
        await source.close();
      }),
    },
  });
}
