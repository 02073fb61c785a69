import { sleep } from "../src/launcher/polling.js";
import { serveFleet } from "./fleet-process.js";
import { RawXmppClient } from "./raw-xmpp-client.js";
import { percentile } from "./stats.js";

/**
 * The end-to-end benchmark's XMPP users and server user, in a child process
 * of their own (driven over IPC through bench/fleet-process.ts), so that the
 * time a presence is sent and the time its notification arrives are read
 * from one clock.
 *
 * Users log in without an initial presence, so every user starts
 * unavailable; `run` flips them on an open-loop schedule, round-robin, so
 * every presence is a transition (one notification from the daemon, one
 * message from the forwarder); `reset` sends every available user
 * unavailable again and waits until the server has taken it (a ping round
 * trip per session: a session's stanzas are handled in order).
 */

export interface E2eLoginRequest {
  port: number;
  domain: string;
  password: string;
  world: string;
  users: string[];
  concurrency: number;
}

export interface E2eRunRequest {
  /** Presences per second, due at fixed intervals from the start. */
  rate: number;
  /** Seconds of schedule before the measured window. */
  warmupS: number;
  /** The measured window, seconds. */
  seconds: number;
  /** After the last presence, at most this long for the rest to arrive. */
  drainS: number;
}

export interface E2eRunResult {
  rate: number;
  users: number;
  /** Presences sent (warm-up and window). */
  sent: number;
  /** Presences due in the window. */
  windowSent: number;
  /** Notifications received in the window, whatever their presence's due time. */
  windowReceived: number;
  windowSeconds: number;
  /** windowReceived / windowSeconds. */
  achievedPerS: number;
  /**
   * Every notification of the run / (schedule start to the last one read): the
   * rate the whole chain got through the run, backlog included. At overload
   * both servers were seen to deliver to the server user in bursts while the
   * input lasts, so the window's figure swings; this one is the chain's
   * capacity.
   */
  completionPerS: number;
  /** Presence due to notification received, over the window's presences that were answered. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Presences sent but not yet answered when the window ended. */
  backlogAtWindowEnd: number;
  /** Presences never answered, after the drain. */
  missing: number;
  /** A notification whose presence did not match the user's next change (a lost one before it). */
  mismatched: number;
  /** Notifications for a user with no change outstanding. */
  extra: number;
  /** How late the sender was, at worst, against the schedule (the fleet's own limit). */
  senderLateMaxMs: number;
  /** The server closed the server user's session during the run (it is logged in again by `reset`). */
  serverUserDropped: boolean;
  /** Last presence sent to last notification received (or the drain cap). */
  drainMs: number;
  /** Notifications read per 250 ms from the schedule's start (the shape of a backlog). */
  arrivals: number[];
  /** The window, on the epoch clock (performance.timeOrigin + now), for CPU sampling. */
  windowStartEpochMs: number;
  windowEndEpochMs: number;
}

export interface E2eLoginReport {
  loggedIn: number;
  failed: number;
  firstError: string | undefined;
  ms: number;
}

export type E2eFleetRequest =
  | { op: "login"; args: E2eLoginRequest }
  | { op: "run"; args: E2eRunRequest }
  | { op: "reset" }
  | { op: "stray" }
  | { op: "stop" };

const AVAILABLE = "<presence/>";
const UNAVAILABLE = "<presence type='unavailable'/>";
const USER_RE = /"user":"([^"]+)","presence":"(available|unavailable)"/;

const clients: RawXmppClient[] = [];
/** Full JID -> index in `clients`. */
const index = new Map<string, number>();
let world: RawXmppClient | undefined;
let loginArgs: E2eLoginRequest | undefined;
let domain = "localhost";
/** 1 while the user's last presence sent was available. */
let available = new Uint8Array(0);
/** Sync ping ids still unanswered. */
const pendingSync = new Set<string>();
let onSynced: (() => void) | undefined;
/** Notifications that arrived outside a run (e.g. the forwarder's replay of the server user). */
let stray = 0;

/** The run in progress: what the notification handler correlates against. */
let current:
  | {
      t0: number;
      periodMs: number;
      total: number;
      users: number;
      /** Per user: changes of this run answered so far (including skipped ones). */
      answered: Uint32Array;
      /** Per presence index: when its notification arrived (NaN: not yet). */
      receivedAt: Float64Array;
      matched: number;
      mismatched: number;
      extra: number;
      windowStart: number;
      windowEnd: number;
      windowReceived: number;
      lastReceived: number;
    }
  | undefined;

const unescapeXml = (s: string) =>
  s
    .replaceAll("&quot;", '"')
    .replaceAll("&apos;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

// The notification's JSON sits in <event xmlns="flux:xmpp">, XML-escaped as
// the server re-serialised it (Prosody escapes quotes in text, ejabberd not).
function onWorldStanza(stanza: string): void {
  const now = performance.now();
  const at = stanza.indexOf("flux:xmpp");
  if (at < 0 || !stanza.startsWith("<message")) return;
  let text = stanza.slice(at);
  if (text.includes("&")) text = unescapeXml(text);
  const m = USER_RE.exec(text);
  if (!m) return;
  const u = index.get(m[1] as string);
  const run = current;
  if (run === undefined || u === undefined) {
    stray++;
    return;
  }
  // The user's j-th change of the run is presence index j * users + u; every
  // user starts the run unavailable, so change j is available when j is even.
  let j = run.answered[u] as number;
  const wantAvailable = j % 2 === 0;
  if (wantAvailable !== (m[2] === "available")) {
    // A change without its notification before this one: skip it.
    run.mismatched++;
    j++;
  }
  const i = j * run.users + u;
  if (i >= run.total) {
    run.extra++;
    return;
  }
  run.answered[u] = j + 1;
  run.receivedAt[i] = now;
  run.matched++;
  if (now >= run.windowStart && now < run.windowEnd) run.windowReceived++;
  run.lastReceived = now;
}

function loginWorld(a: E2eLoginRequest): Promise<RawXmppClient> {
  return RawXmppClient.login({
    port: a.port,
    domain: a.domain,
    password: a.password,
    timeoutMs: 60_000,
    user: a.world,
    resource: "backend",
    onStanza: onWorldStanza,
  });
}

async function login(a: E2eLoginRequest): Promise<E2eLoginReport> {
  domain = a.domain;
  loginArgs = a;
  const common = { port: a.port, domain: a.domain, password: a.password, timeoutMs: 60_000 };
  world = await loginWorld(a);
  const started = Date.now();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const slots: (RawXmppClient | undefined)[] = new Array(a.users.length);
  const worker = async () => {
    while (next < a.users.length) {
      const k = next++;
      try {
        slots[k] = await RawXmppClient.login({
          ...common,
          user: a.users[k] as string,
          resource: "bench",
          initialPresence: false,
          onStanza: onUserStanza,
        });
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, worker));
  for (const c of slots) {
    if (!c) continue;
    index.set(c.jid, clients.length);
    clients.push(c);
  }
  available = new Uint8Array(clients.length);
  return { loggedIn: clients.length, failed, firstError, ms: Date.now() - started };
}

// The answer to a sync ping (Prosody also bounces presences to a component
// that is not connected, with an error: ignored).
function onUserStanza(stanza: string): void {
  if (!stanza.startsWith("<iq")) return;
  const id = /\sid=['"](sync-[0-9]+)['"]/.exec(stanza)?.[1];
  if (id !== undefined && pendingSync.delete(id) && pendingSync.size === 0) onSynced?.();
}

async function run(r: E2eRunRequest): Promise<E2eRunResult> {
  if (available.some((v) => v === 1)) throw new Error("run: some users are available; reset first");
  const users = clients.length;
  const periodMs = 1000 / r.rate;
  const total = Math.round(r.rate * (r.warmupS + r.seconds));
  const t0 = performance.now() + 20;
  const state: NonNullable<typeof current> = {
    t0,
    periodMs,
    total,
    users,
    answered: new Uint32Array(users),
    receivedAt: new Float64Array(total).fill(Number.NaN),
    matched: 0,
    mismatched: 0,
    extra: 0,
    windowStart: t0 + r.warmupS * 1000,
    windowEnd: t0 + (r.warmupS + r.seconds) * 1000,
    windowReceived: 0,
    lastReceived: Number.NaN,
  };
  current = state;
  let next = 0;
  let lateMax = 0;
  // Open loop: whatever is due goes out now, however late; latency counts from the due time.
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / periodMs) + 1);
      if (next < due) lateMax = Math.max(lateMax, now - (t0 + next * periodMs));
      for (; next < due; next++) {
        const u = next % users;
        const c = clients[u] as RawXmppClient;
        const on = available[u] === 0;
        available[u] = on ? 1 : 0;
        c.socket.write(on ? AVAILABLE : UNAVAILABLE);
      }
      if (next >= total) done();
      else setTimeout(tick, Math.max(0, t0 + next * periodMs - performance.now()));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const sentAt = performance.now();
  // Wait for the rest: all answered, or no progress for a second, or the cap.
  const cap = sentAt + r.drainS * 1000;
  let lastMatched = -1;
  let lastProgress = performance.now();
  while (state.matched < total && performance.now() < cap) {
    await sleep(20);
    if (state.matched !== lastMatched) {
      lastMatched = state.matched;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > 1_000 && performance.now() > state.windowEnd) {
      break;
    }
  }
  current = undefined;
  const drainMs =
    (Number.isNaN(state.lastReceived) ? performance.now() : state.lastReceived) - sentAt;

  const arrivals: number[] = [];
  for (const got of state.receivedAt) {
    if (Number.isNaN(got)) continue;
    const slot = Math.max(0, Math.floor((got - t0) / 250));
    while (arrivals.length <= slot) arrivals.push(0);
    arrivals[slot] = (arrivals[slot] as number) + 1;
  }
  const firstInWindow = Math.ceil((state.windowStart - t0) / periodMs);
  const latencies: number[] = [];
  let windowSent = 0;
  let backlog = 0;
  for (let i = 0; i < total; i++) {
    const due = t0 + i * periodMs;
    const got = state.receivedAt[i] as number;
    if (due < state.windowEnd && !(got < state.windowEnd)) backlog++;
    if (i >= firstInWindow && due < state.windowEnd) {
      windowSent++;
      if (!Number.isNaN(got)) latencies.push(got - due);
    }
  }
  latencies.sort((a, b) => a - b);
  const windowSeconds = (state.windowEnd - state.windowStart) / 1000;
  return {
    rate: r.rate,
    users,
    sent: total,
    windowSent,
    windowReceived: state.windowReceived,
    windowSeconds,
    achievedPerS: state.windowReceived / windowSeconds,
    completionPerS: state.matched / ((state.lastReceived - t0) / 1000),
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? Number.NaN,
    },
    backlogAtWindowEnd: backlog,
    missing: total - state.matched,
    mismatched: state.mismatched,
    extra: state.extra,
    senderLateMaxMs: lateMax,
    serverUserDropped: world?.open !== true,
    drainMs,
    arrivals,
    windowStartEpochMs: performance.timeOrigin + state.windowStart,
    windowEndEpochMs: performance.timeOrigin + state.windowEnd,
  };
}

let syncSeq = 0;

/** Every available user goes unavailable; resolves once the server has handled it. */
async function reset(): Promise<{ reset: number }> {
  let n = 0;
  if (world?.open !== true && loginArgs) world = await loginWorld(loginArgs);
  if (clients.length === 0) return { reset: 0 };
  const done = new Promise<void>((resolve) => {
    onSynced = resolve;
  });
  for (let u = 0; u < clients.length; u++) {
    const c = clients[u] as RawXmppClient;
    if (available[u] === 1) {
      c.socket.write(UNAVAILABLE);
      available[u] = 0;
      n++;
    }
    const id = `sync-${++syncSeq}`;
    pendingSync.add(id);
    c.socket.write(`<iq type='get' id='${id}' to='${domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
  }
  const timeout = sleep(30_000).then(() => "timeout");
  if ((await Promise.race([done, timeout])) === "timeout") {
    const left = pendingSync.size;
    pendingSync.clear();
    throw new Error(`reset: ${left} sessions did not answer the sync ping within 30 s`);
  }
  return { reset: n };
}

function stop(): void {
  for (const c of clients) c.drop();
  world?.drop();
}

async function handle(req: E2eFleetRequest): Promise<unknown> {
  switch (req.op) {
    case "login":
      return login(req.args);
    case "run":
      return run(req.args);
    case "reset":
      return reset();
    case "stray":
      return stray;
    case "stop":
      stop();
      return true;
  }
}

serveFleet(handle, stop);
