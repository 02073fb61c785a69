import { SimulatedClock } from "xstate";
import { createService, type ServiceOptions } from "../../../src/app/service.js";
import { testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer } from "../../support/memory-link.js";

export const SETTLE = 1_000;
export const PING_TIMEOUT = 10_000;

/**
 * The service alone (no notifier) on the in-memory server and a simulated
 * clock, with the observers the resync tests read; users named `m` are
 * filtered out.
 */
export function resyncPipeline(
  observers: Pick<ServiceOptions, "observeSessions" | "inspect"> = {},
) {
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  const { logger, records } = logSink("info");
  const config = testConfig({
    notify: { exclude: ["m"] },
    mailbox: { capacity: 1_000 },
    resync: { pingTimeoutMs: PING_TIMEOUT },
  });
  const service = createService({
    config: () => config,
    link: server,
    clock,
    logger,
    ...observers,
  });
  service.start();
  return { server, clock, service, records };
}
