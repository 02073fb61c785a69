import { createActor, SimulatedClock } from "xstate";
import { notifierLogic } from "../../../src/actors/notifier.js";
import { createPipeline } from "../../../src/app/pipeline.js";
import { SendRate } from "../../../src/outbox/send-rate.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import type { JidView } from "../../../src/protocol/pseudonym.js";
import type { Signer } from "../../../src/protocol/signature.js";
import type { SessionList } from "../../../src/xmpp/session-list.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer } from "../../support/memory-link.js";

/** The pipeline and a notifier actor against an in-memory server, on a simulated clock. */
export function setup(
  policy: {
    include?: (l: string) => boolean;
    domains?: string[];
    liveness?: { intervalMs: number; timeoutMs: number; maxRate: number };
    sessionList?: SessionList;
    maxAgeMs?: number;
    maxRate?: number;
    flapWindowMs?: number;
    sequence?: boolean;
    batch?: number;
    userRate?: number;
    receiptTimeoutMs?: number;
    mailboxCapacity?: number;
    sign?: Signer;
    pseudonym?: JidView;
    /**
     * The hosts that advertise presence=managed_entity on every connect, as
     * Prosody does for each VirtualHost (SERVERS.md); with notify.domains
     * empty they are the domains served.
     */
    advertise?: readonly string[];
    /** `notify.from`; "component" unless set. */
    from?: "component" | "user";
    /** The pipeline's timer fault hook (src/otp/timer-guard.ts). */
    timerFault?: (mechanism: string) => void;
  } = {},
) {
  const server = new MemoryServer();
  const clock = new SimulatedClock();
  const { logger, records } = logSink();
  const pipeline = createPipeline({
    link: server,
    clock,
    logger,
    policy: () => ({
      serverUser: "world",
      accepts: policy.include ?? (() => true),
      domains: policy.domains ?? [],
    }),
    fromUser: () => policy.from === "user",
    mailboxCapacity: policy.mailboxCapacity ?? 100,
    pingTimeoutMs: 10_000,
    resyncSettleMs: 1_000,
    liveness: policy.liveness ?? { intervalMs: 30_000, timeoutMs: 10_000, maxRate: 0 },
    ...(policy.sessionList ? { sessionList: policy.sessionList } : {}),
    ...(policy.flapWindowMs ? { flapWindowMs: policy.flapWindowMs } : {}),
    ...(policy.sequence ? { sequence: true } : {}),
    ...(policy.userRate ? { userRate: policy.userRate } : {}),
    ...(policy.receiptTimeoutMs ? { receiptTimeoutMs: policy.receiptTimeoutMs } : {}),
    ...(policy.timerFault ? { timerFault: policy.timerFault } : {}),
  });
  server.on("online", () => {
    for (const host of policy.advertise ?? ["localhost", "example.test"]) {
      server.deliver(advertisement(host));
    }
  });
  const rate = policy.maxRate
    ? new SendRate(pipeline.timers.clock("send_rate"), policy.maxRate)
    : undefined;
  const notifier = createActor(
    notifierLogic({
      ...pipeline,
      link: server,
      from: () => policy.from ?? "component",
      logger,
      ...(policy.maxAgeMs === undefined ? {} : { maxAgeMs: () => policy.maxAgeMs ?? 0 }),
      now: () => clock.now(),
      ...(rate ? { rate } : {}),
      ...(policy.batch ? { batch: () => policy.batch ?? 1 } : {}),
      ...(policy.sign ? { sign: policy.sign } : {}),
      ...(policy.pseudonym ? { pseudonym: policy.pseudonym } : {}),
    }),
  ).start();
  const notified = () =>
    server.messages().map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args);
  return { server, clock, pipeline, notifier, notified, records, rate };
}

export const available = (jid: string, extra = "") =>
  `<presence from="${jid}" to="presence.localhost">${extra}</presence>`;
export const unavailable = (jid: string) =>
  `<presence type="unavailable" from="${jid}" to="presence.localhost"/>`;

/** A XEP-0356 advertisement from a server host (section 4). */
export const advertisement = (
  from: string,
  perms = "<perm access='presence' type='managed_entity'/>",
) =>
  `<message from='${from}' to='presence.localhost'><privilege xmlns='urn:xmpp:privilege:2'>${perms}</privilege></message>`;
