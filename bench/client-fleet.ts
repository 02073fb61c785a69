import { serveFleet } from "./fleet-process.js";
import { RawXmppClient } from "./raw-xmpp-client.js";

/**
 * The benchmark's XMPP users, in a process of their own so that the
 * benchmark process's CPU time is the daemon's alone. Driven over the fork
 * IPC channel by `liveness-load.ts`: one request, one reply, matched by `id`.
 *
 * Also holds the server user (`world`), which reads the daemon's
 * notifications: the time a dropped session's `unavailable` arrives there is
 * its detection time as a consumer sees it.
 */

export interface LoginRequest {
  port: number;
  domain: string;
  password: string;
  world: string;
  users: string[];
  concurrency: number;
}

export interface LoginReport {
  loggedIn: number;
  failed: number;
  firstError: string | undefined;
  ms: number;
  latencyMs: { p50: number; p99: number; max: number };
}

export interface FleetStats {
  open: number;
  pingsAnswered: number;
  notified: { available: number; unavailable: number };
}

export interface DropReport {
  jids: string[];
  at: number;
}

export interface Detection {
  jid: string;
  how: "drop" | "mute";
  /** ms from the fault to the `unavailable` notification; undefined if none came. */
  ms: number | undefined;
}

export type FleetRequest =
  | { op: "login"; args: LoginRequest }
  | { op: "stats" }
  | { op: "fault"; args: { count: number; how: "drop" | "mute" } }
  | { op: "detections" }
  | { op: "dropMuted" }
  | { op: "stop" };

const clients = new Map<string, RawXmppClient>();
let world: RawXmppClient | undefined;
const notified = { available: 0, unavailable: 0 };
/** Faulted session -> when and how. */
const faults = new Map<string, { at: number; how: "drop" | "mute" }>();
/** Faulted session -> when its `unavailable` notification arrived. */
const detected = new Map<string, number>();

const USER_RE = /"user":"([^"]+)","presence":"(available|unavailable)"/;

// The notification's JSON sits in <event xmlns="flux:xmpp">, XML-escaped.
function onWorldStanza(stanza: string): void {
  if (!stanza.startsWith("<message") || !stanza.includes("flux:xmpp")) return;
  const text = stanza
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
  const m = USER_RE.exec(text);
  if (!m) return;
  const [, user = "", presence] = m;
  if (presence === "available") notified.available++;
  else {
    notified.unavailable++;
    if (faults.has(user) && !detected.has(user)) detected.set(user, Date.now());
  }
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

async function login(a: LoginRequest): Promise<LoginReport> {
  const common = { port: a.port, domain: a.domain, password: a.password, timeoutMs: 60_000 };
  world = await RawXmppClient.login({
    ...common,
    user: a.world,
    resource: "backend",
    onStanza: onWorldStanza,
  });
  const started = Date.now();
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < a.users.length) {
      const user = a.users[next++] as string;
      const t0 = Date.now();
      try {
        const c = await RawXmppClient.login({ ...common, user, resource: "bench" });
        clients.set(c.jid, c);
        latencies.push(Date.now() - t0);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, worker));
  latencies.sort((x, y) => x - y);
  return {
    loggedIn: clients.size,
    failed,
    firstError,
    ms: Date.now() - started,
    latencyMs: {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1) ?? Number.NaN,
    },
  };
}

function stats(): FleetStats {
  let open = 0;
  let pingsAnswered = 0;
  for (const c of clients.values()) {
    if (c.open) open++;
    pingsAnswered += c.pingsAnswered;
  }
  return { open, pingsAnswered, notified: { ...notified } };
}

/** Picks `count` random healthy sessions and kills their sockets, or mutes them, at once. */
function fault(count: number, how: "drop" | "mute"): DropReport {
  const healthy = [...clients.values()].filter((c) => c.open && !faults.has(c.jid));
  for (let i = healthy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [healthy[i], healthy[j]] = [healthy[j] as RawXmppClient, healthy[i] as RawXmppClient];
  }
  const chosen = healthy.slice(0, count);
  const at = Date.now();
  for (const c of chosen) {
    faults.set(c.jid, { at, how });
    if (how === "drop") c.drop();
    else c.mute = true;
  }
  return { jids: chosen.map((c) => c.jid), at };
}

function detections(): Detection[] {
  return [...faults].map(([jid, f]) => {
    const t = detected.get(jid);
    return { jid, how: f.how, ms: t === undefined ? undefined : t - f.at };
  });
}

function stop(): void {
  for (const c of clients.values()) c.drop();
  world?.drop();
}

async function handle(req: FleetRequest): Promise<unknown> {
  switch (req.op) {
    case "login":
      return login(req.args);
    case "stats":
      return stats();
    case "fault":
      return fault(req.args.count, req.args.how);
    case "detections":
      return detections();
    case "dropMuted": {
      let n = 0;
      for (const [jid, f] of faults) {
        const c = clients.get(jid);
        if (f.how === "mute" && c?.open) {
          c.drop();
          n++;
        }
      }
      return n;
    }
    case "stop":
      stop();
      return true;
  }
}

serveFleet(handle, stop);
