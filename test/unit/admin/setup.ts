import { request } from "node:http";
import { SimulatedClock } from "xstate";
import { startAdmin } from "../../../src/admin/app.js";
import { createService } from "../../../src/app/service.js";
import type { ListenAddress } from "../../../src/config/listen.js";
import { Secret } from "../../../src/config/redacted.js";
import { startSupervisor } from "../../../src/otp/supervisor-root.js";
import { testConfig } from "../../support/config.js";
import { logSink } from "../../support/log-sink.js";
import { MemoryServer } from "../../support/memory-link.js";
import { worker } from "../supervisor/children.js";

export const ADVERTISEMENT = `<message from="localhost" to="presence.localhost"><privilege xmlns="urn:xmpp:privilege:2"><perm access="presence" type="managed_entity"/></privilege></message>`;
export const ROSTER_ONLY = `<message from="localhost" to="presence.localhost"><privilege xmlns="urn:xmpp:privilege:2"><perm access="presence" type="roster"/></privilege></message>`;

/**
 * The admin listener on 127.0.0.1, port 0, in front of a real service and a
 * real supervision tree (the notifier and a worker that can be crashed)
 * against the in-memory XMPP server, on a simulated clock.
 */
export async function adminScene(
  options: { token?: string; pseudonymise?: boolean; listen?: ListenAddress } = {},
) {
  const clock = new SimulatedClock();
  const server = new MemoryServer(() => clock.now());
  const { logger, records } = logSink();
  const admin = await startAdmin({
    settings: {
      listen: options.listen ?? { host: "127.0.0.1", port: 0 },
      token: options.token === undefined ? undefined : new Secret(options.token),
      pseudonymise: options.pseudonymise ?? false,
    },
    logger,
    clock,
  });
  if (!admin) throw new Error("admin is off");
  // Both hosts, as notify.domains: the scenes advertise only for localhost.
  const config = testConfig({ notify: { domains: ["localhost", "example.test"] } });
  const service = createService({
    config: () => config,
    link: server,
    clock,
    logger,
    onSent: admin.feed.record,
  });
  service.start();
  const supervisor = startSupervisor({
    name: "presence-notify",
    clock,
    logger,
    flags: { strategy: "one_for_one", intensity: 5, period: 10_000 },
    children: [
      { id: "flaky", logic: worker, input: { name: "flaky" } },
      {
        id: "notifier",
        logic: service.notifier,
        // A test may stop with mail queued and the link down: no drain to wait for.
        shutdown: "brutal_kill",
      },
    ],
  });
  admin.attach({ link: server, service, supervisor });
  const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
    fetch(`${admin.url}${path}`, { method, headers });
  const stop = async () => {
    await supervisor.shutdown();
    service.close();
    await admin.close();
  };
  return { server, clock, service, admin, supervisor, records, get, stop };
}

/** Reads `count` SSE messages from `url` (a real HTTP stream); returns their parsed data. */
export function readEvents(
  url: string,
  count: number,
  onOpen: () => void = () => {},
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    let buffer = "";
    const req = request(url, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (data) got.push(JSON.parse(data.slice(6)));
          if (got.length === 1 && data) onOpen();
          if (got.length >= count) {
            req.destroy();
            return resolve(got);
          }
          end = buffer.indexOf("\n\n");
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}
