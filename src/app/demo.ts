import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type Client, client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { resolveConfig } from "../config/load.js";
import { sleep, waitFor } from "../launcher/polling.js";
import { freePorts } from "../launcher/ports.js";
import { startProsody } from "../launcher/prosody.js";
import { osProcessLogic } from "../otp/os-process.js";
import { createLogger } from "../telemetry/log.js";
import { startDaemon } from "./daemon.js";
import { DemoLog } from "./demo-log.js";

/**
 * `presence-notify demo`: a local Prosody (Debian's package, generated
 * loopback-only config in a temp dir) supervised as an OS process in the
 * daemon's own tree, a server user printing the notifications it receives,
 * and a few simulated users coming and going.
 */

const DOMAIN = "localhost";
const COMPONENT = "presence.localhost";
const WORLD = "world";
const PASSWORD = "demo-password";

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { users: { type: "string", default: "4" }, duration: { type: "string" } },
    strict: true,
  });
  const userCount = Number(values.users);
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  if (!Number.isInteger(userCount) || userCount < 1 || userCount > 100) {
    process.stderr.write("--users takes a whole number from 1 to 100\n");
    return 64;
  }
  if (durationS !== undefined && !(durationS > 0)) {
    process.stderr.write("--duration takes a number of seconds greater than 0\n");
    return 64;
  }
  if (!existsSync("/usr/bin/prosody") || !existsSync("/usr/lib/prosody/modules/mod_privilege")) {
    process.stderr.write(
      "Prosody with mod_privilege is not installed: run `bash scripts/install-servers.sh` (apt-get install prosody prosody-modules)\n",
    );
    return 69; // EX_UNAVAILABLE
  }

  const secret = randomBytes(16).toString("hex");
  const [c2s = 0, component = 0] = await freePorts([undefined, undefined]);
  const ports = { c2s, component };
  const users = Array.from({ length: userCount }, (_, i) => `flux.actor.${i + 1}`);
  const accounts = [WORLD, ...users].map((user) => ({ user, host: DOMAIN, password: PASSWORD }));
  const config = demoConfig(ports, secret);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // The daemon's log, in the demo's words, on the demo's feed (src/app/demo-log.ts).
  const logger = createLogger({ level: "info" }, new DemoLog().destination(say));
  const daemon = startDaemon({
    config,
    logger,
    before: [
      {
        id: "prosody",
        logic: osProcessLogic,
        input: {
          name: "prosody",
          // A restarted Prosody gets the same ports and its accounts again.
          start: async () => {
            const server = await startProsody({
              domains: [DOMAIN],
              component: { domain: COMPONENT, secret },
              ports,
            });
            await server.registerMany(accounts);
            return server;
          },
        },
        restart: "permanent",
        shutdown: 10_000,
      },
    ],
  });

  say("presence-notify demo");
  say(`  Prosody on 127.0.0.1:${ports.c2s} (c2s) and :${ports.component} (component ${COMPONENT})`);
  say(`  server user ${WORLD}@${DOMAIN} prints every notification it receives`);
  say(`  simulated users: ${users.join(", ")}`);
  say(durationS === undefined ? "  Ctrl-C stops it all" : `  stops after ${durationS} s`);

  let running = true;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      running = false;
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (durationS !== undefined) setTimeout(stop, durationS * 1000).unref();
  });

  const live: Client[] = [];
  try {
    // Running means started and its accounts registered (the child's `start` did both).
    const phase = (): unknown => daemon.supervisor.whereis("prosody")?.getSnapshot()?.phase;
    await waitFor(() => phase() === "running", 20_000, "Prosody to be ready", 50);
    const world = await login(ports.c2s, WORLD, "backend", live);
    world.on("stanza", (stanza: Element) => printNotification(stanza, say));
    await world.send(xml("presence"));
    const loops = users.map((user, i) => simulate(ports.c2s, user, i, () => running, live));
    await stopped;
    await Promise.all(loops);
  } finally {
    // Users leave first, and the server user stays to hear about it.
    const world = live[0];
    await Promise.all(live.slice(1).map((c) => c.stop().catch(() => undefined)));
    await sleep(500);
    await world?.stop().catch(() => undefined);
    await daemon.stop();
  }
  say("demo stopped");
  return 0;
}

/** The daemon's configuration for the demo's Prosody: every flux.actor.* and flux.sim.* user. */
function demoConfig(ports: { component: number }, secret: string) {
  return resolveConfig({
    path: "(demo)",
    env: {},
    readFile: (path) => readFileSync(path, "utf8"),
    text: [
      "[component]",
      `service = "xmpp://127.0.0.1:${ports.component}"`,
      `domain = "${COMPONENT}"`,
      `secret = "${secret}"`,
      "[notify]",
      `server_user = "${WORLD}"`,
      `include = ["flux.actor.*", "flux.sim.*"]`,
      "[reconnect]",
      `initial = "200ms"`,
      `max = "5s"`,
    ].join("\n"),
  }).config;
}

/** What the server user prints for each notification it receives. */
function printNotification(stanza: Element, say: (line: string) => void): void {
  const event = stanza.is("message") ? stanza.getChild("event", "flux:xmpp") : undefined;
  if (!event) return;
  const { args: a } = JSON.parse(event.getText());
  const time = new Date().toISOString().slice(11, 23);
  say(`${time}  ${String(a.presence).padEnd(11)}  ${a.user}   (from ${stanza.attrs.from})`);
}

async function login(
  port: number,
  username: string,
  resource: string,
  live: Client[],
): Promise<Client> {
  const entity = client({
    service: `xmpp://127.0.0.1:${port}`,
    domain: DOMAIN,
    resource,
    // Over plaintext loopback xmpp.js never picks PLAIN by itself.
    credentials: (authenticate) => authenticate({ username, password: PASSWORD }, "PLAIN"),
  });
  entity.reconnect.stop();
  entity.on("error", () => undefined);
  live.push(entity);
  await entity.start();
  return entity;
}

/** One simulated user: online with a random show, then leaves politely or drops its socket. */
async function simulate(
  port: number,
  user: string,
  index: number,
  running: () => boolean,
  live: Client[],
) {
  await sleep(300 * index);
  let round = 0;
  while (running()) {
    round++;
    try {
      const entity = await login(port, user, `sim-${round}`, live);
      await entity.send(xml("presence"));
      await sleep(800 + Math.random() * 1500);
      if (!running()) return;
      await entity.send(xml("presence", {}, xml("show", {}, "away")));
      await sleep(500 + Math.random() * 1500);
      if (round % 3 === 0)
        entity.socket?.destroy(); // gone without saying goodbye
      else await entity.stop();
      live.splice(live.indexOf(entity), 1);
    } catch {
      // Prosody restarting under us: try again shortly.
    }
    await sleep(500 + Math.random() * 1500);
  }
}
