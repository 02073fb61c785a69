import { parseArgs } from "node:util";
import { sleep } from "../src/launcher/polling.js";
import { startBenchDaemon } from "./bench-daemon.js";
import { startForwarder } from "./forwarder-component.js";

/**
 * One component under test, alone in a fresh process (forked by
 * bench/e2e.ts), so that its CPU time is attributable: the real daemon or the
 * minimal forwarder, connected to the server's component port. Tells the
 * parent `{ ready: true }` over IPC once its link is up, and the daemon's
 * stage histograms when asked (`{ op: "stages" }`); stops on SIGTERM or
 * when the parent goes away.
 *
 *   --who daemon|forwarder --port P --domain D --secret S --server-user LOCAL --user-domain D [--log info]
 */

const { values: a } = parseArgs({
  options: {
    who: { type: "string", default: "daemon" },
    port: { type: "string" },
    domain: { type: "string", default: "presence.localhost" },
    secret: { type: "string" },
    "server-user": { type: "string", default: "world" },
    "user-domain": { type: "string", default: "localhost" },
    log: { type: "string", default: "info" },
  },
  strict: true,
});

async function start(): Promise<() => Promise<void> | void> {
  if (a.who === "forwarder") {
    const forwarder = await startForwarder({
      port: Number(a.port),
      domain: a.domain,
      secret: a.secret ?? "",
      serverUser: `${a["server-user"]}@${a["user-domain"]}`,
    });
    return () => forwarder.close();
  }
  const { daemon, stop } = await startBenchDaemon({
    port: Number(a.port),
    domain: a.domain,
    secret: a.secret ?? "",
    serverUser: a["server-user"],
    log: a.log,
  });
  for (let i = 0; i < 1500 && !daemon.link.online; i++) await sleep(10);
  if (!daemon.link.online) throw new Error("the daemon did not connect within 15 s");
  // The parent asks for the daemon's presence_stage_seconds before it stops it.
  process.on("message", (m: { op?: string }) => {
    if (m?.op === "stages") process.send?.({ stages: daemon.link.stages.snapshot() });
  });
  return stop;
}

const stop = await start();
let stopping = false;
const quit = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 3_000).unref();
  void Promise.resolve(stop()).finally(() => process.exit(0));
};
process.on("SIGTERM", quit);
process.on("disconnect", quit);
process.send?.({ ready: true });
