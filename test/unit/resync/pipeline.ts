import { SimulatedClock } from "xstate";
import { createPipeline, type PipelineOptions } from "../../../src/app/pipeline.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer } from "../../support/memory-link.js";

export const SETTLE = 1_000;
export const PING_TIMEOUT = 10_000;

/**
 * The pipeline alone on the in-memory server and a simulated clock, with the
 * observers the resync tests read; users named `m` are filtered out.
 */
export function resyncPipeline(
  observers: Pick<PipelineOptions, "observeSessions" | "inspect"> = {},
) {
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  const { logger, records } = logSink("info");
  const pipeline = createPipeline({
    link: server,
    clock,
    logger,
    policy: () => ({ serverUser: "world", accepts: (l) => l !== "m", domains: [] }),
    fromUser: () => false,
    mailboxCapacity: 1_000,
    pingTimeoutMs: PING_TIMEOUT,
    resyncSettleMs: SETTLE,
    liveness: { intervalMs: 30_000, timeoutMs: PING_TIMEOUT, maxRate: 0 },
    ...observers,
  });
  return { server, clock, pipeline, records };
}
