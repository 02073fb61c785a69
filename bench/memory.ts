import { EventEmitter } from "node:events";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { createActor } from "xstate";
import { createService } from "../src/app/service.js";
import { resolveConfig } from "../src/config/load.js";
import { systemClock } from "../src/otp/clock.js";
import { silentLogger } from "../src/telemetry/log.js";
import type { Link } from "../src/xmpp/component-link.js";
import { sessionJid, USER_DOMAIN } from "./fake-component-server.js";

/**
 * Memory benchmark: heap per tracked session through the real router path,
 * and the event loop's delay while they are tracked.
 *
 * `createService` (registry, router, liveness with its defaults: 30 s,
 * 10 s, 200 pings/s) with its notifier actor, on a link that takes every
 * stanza and answers pings as a live session's server does. Presences enter
 * as the daemon's socket sees them: 16 KB chunks of text through xmpp.js's
 * streaming parser, so JID strings are slices of a chunk, as in production.
 *
 * Heap per session = (heapUsed after N available sessions, notifications
 * drained, GC forced twice) - (the same, empty service), / N. Then, with the
 * N sessions tracked, presence goes on at `--rate` a second (a random
 * session goes unavailable, then available again) for `--seconds`, while
 * `monitorEventLoopDelay` records the loop's delay.
 *
 *   node --expose-gc --import tsx bench/memory.ts --sessions 1000000 [--rate 1000 --seconds 20] [--again]
 *
 * Prints one JSON line. Exits 1 when the sessions are not all tracked or a
 * notification went missing.
 */

const { values: args } = parseArgs({
  options: {
    sessions: { type: "string", default: "100000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "20" },
    map: { type: "boolean", default: false },
    // Every session sends a second available presence after the first (as
    // a client's later presence does): liveness is then keyed by that
    // presence's string, the registry still by the first.
    again: { type: "boolean", default: false },
  },
  strict: true,
});

const COMPONENT = "presence.localhost";
const CHUNK = 16 * 1024;
const LOOP_RESOLUTION_MS = 10;

export interface MemoryResult {
  sessions: number;
  tracked: number;
  livenessTracked: number;
  heapEmptyMiB: number;
  heapFullMiB: number;
  bytesPerSession: number;
  feedSeconds: number;
  rate: number;
  seconds: number;
  loopP99Ms: number;
  loopMaxMs: number;
  pings: number;
  notifications: number;
  failure?: string;
}

/** A server that takes every stanza and answers every ping as from a live session. */
class NullServer extends EventEmitter implements Link {
  readonly domain = COMPONENT;
  online = true;
  messages = 0;
  pings = 0;
  async send(el: Element): Promise<void> {
    if (el.name === "message") {
      this.messages++;
      return;
    }
    if (el.name === "iq") {
      this.pings++;
      const reply = xml("iq", {
        type: "result",
        id: el.attrs.id,
        from: el.attrs.to,
        to: COMPONENT,
      });
      queueMicrotask(() => this.emit("stanza", reply));
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapUsed = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const tick = () => new Promise((r) => setImmediate(r));

export async function measureMemory(
  sessions: number,
  rate: number,
  seconds: number,
  again = false,
): Promise<MemoryResult> {
  if (!gc) throw new Error("run with node --expose-gc");
  const link = new NullServer();
  // The defaults (liveness 30 s, 10 s, 200 pings/s), a mailbox for a feed's burst.
  const { config } = resolveConfig({
    text: '[component]\nsecret = "bench"\n[notify]\nserver_user = "world"\n[mailbox]\ncapacity = 100000\n',
    path: "bench/memory.ts",
    env: {},
    readFile: () => "",
  });
  const service = createService({
    config: () => config,
    link,
    clock: systemClock,
    logger: silentLogger,
  });
  service.start();
  const { mailbox } = service.outbox;
  const notifier = createActor(service.notifier).start();
  link.emit("connecting");
  // As a server does with the handshake (XEP-0356 section 4): the users'
  // host advertises presence, so its sessions are served.
  link.emit(
    "stanza",
    xml(
      "message",
      { from: USER_DOMAIN, to: COMPONENT },
      xml(
        "privilege",
        { xmlns: "urn:xmpp:privilege:2" },
        xml("perm", { access: "presence", type: "managed_entity" }),
      ),
    ),
  );
  link.emit("online");
  // The daemon's socket: a stream parser fed chunks of text.
  const parser = new xml.Parser();
  parser.on("element", (el: Element) => link.emit("stanza", el));
  parser.write(
    `<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams" id="bench">`,
  );
  const presence = (i: number, available: boolean) =>
    available
      ? `<presence from="${sessionJid(i)}" to="${COMPONENT}"><priority>0</priority></presence>`
      : `<presence type="unavailable" from="${sessionJid(i)}" to="${COMPONENT}"/>`;
  await tick();
  const empty = heapUsed();

  const started = performance.now();
  for (let pass = 0; pass < (again ? 2 : 1); pass++) {
    let chunk = "";
    for (let i = 0; i < sessions; i++) {
      chunk += presence(i, true);
      if (chunk.length >= CHUNK) {
        parser.write(chunk);
        chunk = "";
        // Let the notifier drain, as the socket's reads would.
        if (mailbox.size > 50_000) while (mailbox.size > 0) await tick();
      }
    }
    parser.write(chunk);
    while (mailbox.size > 0) await tick();
  }
  const feedSeconds = (performance.now() - started) / 1000;
  const full = heapUsed();

  // Presence goes on while they are tracked; the loop's delay is recorded.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const pingsBefore = link.pings;
  const messagesBefore = link.messages;
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    let text = "";
    for (; sent < due; sent++) {
      const i = Math.floor(Math.random() * sessions);
      text += presence(i, false) + presence(i, true);
    }
    if (text !== "") parser.write(text);
    await new Promise((r) => setTimeout(r, 5));
  }
  while (mailbox.size > 0) await tick();
  loop.disable();
  const result: MemoryResult = {
    sessions,
    tracked: service.intake.registry.size,
    livenessTracked: service.intake.liveness.tracked,
    heapEmptyMiB: empty / 2 ** 20,
    heapFullMiB: full / 2 ** 20,
    bytesPerSession: (full - empty) / sessions,
    feedSeconds,
    rate,
    seconds,
    loopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    loopMaxMs: Math.max(0, loop.max / 1e6 - LOOP_RESOLUTION_MS),
    pings: link.pings - pingsBefore,
    notifications: link.messages - messagesBefore,
  };
  const expected = sessions + 2 * sent;
  if (result.tracked !== sessions || result.livenessTracked !== sessions) {
    result.failure = `tracked ${result.tracked} sessions (liveness ${result.livenessTracked}), expected ${sessions}`;
  } else if (link.messages !== expected) {
    result.failure = `${link.messages} notifications sent, expected ${expected}`;
  }
  notifier.stop();
  service.close();
  return result;
}

/**
 * The hand-written baseline: one `Map<fullJid, number>` of flat strings,
 * the least a daemon that tracks sessions can hold. Bytes per session.
 */
export function measureMap(sessions: number): number {
  if (!gc) throw new Error("run with node --expose-gc");
  const before = heapUsed();
  const map = new Map<string, number>();
  for (let i = 0; i < sessions; i++) map.set(JSON.parse(JSON.stringify(sessionJid(i))), 1);
  const after = heapUsed();
  if (map.size !== sessions) throw new Error("map lost entries");
  return (after - before) / sessions;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && args.map) {
  process.stdout.write(
    `${JSON.stringify({ sessions: Number(args.sessions), bytesPerSession: measureMap(Number(args.sessions)) })}\n`,
  );
  process.exit(0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await measureMemory(
    Number(args.sessions),
    Number(args.rate),
    Number(args.seconds),
    args.again,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (result.failure) process.stderr.write(`FAILED: ${result.failure}\n`);
  process.exit(result.failure ? 1 : 0);
}
