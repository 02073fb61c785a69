import { createActor, SimulatedClock } from "xstate";
import { createService, type ServiceFaults } from "../../../src/app/service.js";
import { NS_FLUX } from "../../../src/protocol/notification.js";
import type { SessionList } from "../../../src/xmpp/session-list.js";
import { type ConfigPatch, patchConfig, testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer } from "../../support/memory-link.js";

export interface SetupOptions extends ConfigPatch {
  /**
   * The hosts that advertise presence=managed_entity on every connect, as
   * Prosody does for each VirtualHost (SERVERS.md); with notify.domains
   * empty they are the domains served.
   */
  advertise?: readonly string[];
  /** The server's own list of live sessions (ejabberd's API), as the daemon builds from `resync`. */
  sessionList?: SessionList;
  /** Test-only faults (src/app/service.ts), e.g. a timer fault hook (src/otp/timer-guard.ts). */
  faults?: ServiceFaults;
}

/**
 * The service and its notifier actor against an in-memory server, on a
 * simulated clock, configured by `testConfig` with the sections given.
 */
export function setup(options: SetupOptions = {}) {
  const { advertise, sessionList, faults, ...patch } = options;
  const clock = new SimulatedClock();
  const server = new MemoryServer(() => clock.now());
  const { logger, records } = logSink();
  let config = testConfig(patch);
  const service = createService({
    config: () => config,
    link: server,
    clock,
    logger,
    ...(sessionList ? { sessionList } : {}),
    ...(faults ? { faults } : {}),
  });
  service.start();
  server.on("online", () => {
    for (const host of advertise ?? ["localhost", "example.test"]) {
      server.deliver(advertisement(host));
    }
  });
  const notifier = createActor(service.notifier).start();
  const notified = () =>
    server.messages().map((m) => JSON.parse(m.getChild("event", NS_FLUX)?.getText() ?? "{}").args);
  /** A reload (SIGHUP): the running configuration with `next` applied, then retuned. */
  const reload = (next: ConfigPatch) => {
    config = patchConfig(config, next);
    service.retune();
  };
  return { server, clock, service, notifier, notified, records, reload };
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
