import { AdminClient, sample } from "./admin-client.js";
import { XmppCrowd } from "./chaos-crowd.js";
import { ChaosState, injectDiskFull } from "./chaos-disk.js";
import { ChaosLog } from "./chaos-log.js";
import { converge, type Mode } from "./chaos-oracle.js";
import { deck, Rng } from "./chaos-rng.js";
import type { DaemonProcess } from "./daemon.js";
import { PASSWORD, Scenario, type ServerKind } from "./scenario.js";
import { TcpProxy } from "./tcp-proxy.js";
import type { WorldServer } from "./world.js";

/**
 * A seeded chaos run on Prosody or ejabberd: real users come, go, drop
 * their sockets, change <show> and flip availability, while faults hit the
 * daemon, the server, the component link and the server user; after each
 * fault, a quiet point compares the server user's view with the truth.
 */
export interface ChaosOptions {
  seed: number;
  /** Faults are injected until this much time has passed (then one last quiet point). */
  durationMs: number;
  mode: Mode;
  /** Accounts the crowd logs in with; sessions tend towards `sessions`. */
  accounts?: number;
  sessions?: number;
  /** Prints each log line as it happens (the CLI). */
  echo?: (line: string) => void;
  /** Hostile users also send presences too deep to parse (a known defect: see chaos-findings.test.ts). */
  unparsable?: boolean;
  /** Only these faults (each as likely); default: every fault the mode promises to survive. */
  only?: readonly string[];
}

/** The CLI options beyond route, mode and seed that reproduce a run's schedule. */
export function replayArgs(options: ChaosOptions): string[] {
  return [
    ...(options.only === undefined ? [] : [`--faults ${options.only.join(",")}`]),
    ...(options.sessions === undefined ? [] : [`--sessions ${options.sessions}`]),
    ...(options.accounts === undefined ? [] : [`--accounts ${options.accounts}`]),
    ...(options.unparsable ? ["--unparsable"] : []),
  ];
}

/**
 * The weights of `defaults` restricted to `only`, refusing a fault this
 * route does not have, or one that cannot run here (`unavailable`: why).
 */
export function faultWeights<K extends string>(
  defaults: Record<K, number>,
  only: readonly string[] | undefined,
  unavailable: Partial<Record<K, string>> = {},
): Record<K, number> {
  const off = (Object.keys(unavailable) as K[]).filter((k) => unavailable[k] !== undefined);
  if (only === undefined) {
    const usable = { ...defaults };
    for (const k of off) usable[k] = 0;
    return usable;
  }
  const unknown = only.filter((f) => !(f in defaults));
  if (unknown.length > 0) {
    throw new Error(
      `unknown fault ${unknown.join(", ")}: this route has ${Object.keys(defaults).join(", ")}`,
    );
  }
  const refused = off.filter((k) => only.includes(k));
  if (refused.length > 0) {
    throw new Error(refused.map((k) => `fault ${k} cannot run here: ${unavailable[k]}`).join("; "));
  }
  const chosen = {} as Record<K, number>;
  for (const key of Object.keys(defaults) as K[]) chosen[key] = only.includes(key) ? 1 : 0;
  return chosen;
}

export const XMPP_FAULTS = [
  "daemon-kill",
  "daemon-term",
  "server-kill",
  "link-cut",
  "world-away",
  "hostile",
  "disk-full",
] as const;
export type XmppFault = (typeof XMPP_FAULTS)[number];

/**
 * In memory mode a restarted daemon has forgotten its sessions, and the
 * README says so (sessions that ended while it was down are not reported):
 * the daemon's own restarts are durable mode's faults only. A full disk is
 * too (there is no state file otherwise), and needs a tmpfs mount (root).
 */
function weights(mode: Mode): Record<XmppFault, number> {
  const always = { "server-kill": 1, "link-cut": 2, "world-away": 2, hostile: 2 };
  return mode === "durable"
    ? { "daemon-kill": 2, "daemon-term": 1, ...always, "disk-full": 1 }
    : { ...always, "daemon-kill": 0, "daemon-term": 0, "disk-full": 0 };
}

const LOSSES = ["expired", "refused_full", "dropped_held_full", "dead_lettered", "unwritable"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runXmppChaos(kind: ServerKind, options: ChaosOptions): Promise<ChaosLog> {
  const log = new ChaosLog(kind, options.seed, options.mode, options.echo);
  log.replayArgs = replayArgs(options);
  const rng = new Rng(options.seed);
  const accounts = Array.from({ length: options.accounts ?? 20 }, (_, i) => `chaos${i}@localhost`);
  const scene = new Scenario(kind);
  const state = ChaosState.open(options.mode, "pn-chaos-");
  let proxy: TcpProxy | undefined;
  let crowd: XmppCrowd | undefined;
  try {
    await scene.start({ users: ["world@localhost", ...accounts] });
    proxy = await new TcpProxy(scene.server.componentPort).start();
    const world = await scene.world("world");
    const config = scene.config(
      [
        'server_user = "world"',
        'include = ["chaos*"]',
        'receipt_timeout = "5s"',
        'sequence = "session"',
      ],
      options.mode === "durable"
        ? ["[durability]", 'mode = "sqlite"', `path = "${state.path}"`]
        : [],
      proxy.port,
    );
    let daemon = await scene.daemon(config);
    let admin = await AdminClient.of(daemon);
    const c2s = new XmppCrowd(
      scene.server.c2sPort,
      accounts,
      PASSWORD,
      rng,
      options.sessions ?? 30,
      options.unparsable ?? false,
    );
    crowd = c2s;
    const link = proxy;

    /** `n` user actions, up to 3 at a time, with the RNG's pauses between them. */
    const churn = async (n: number) => {
      for (let done = 0; done < n; ) {
        const batch = Math.min(n - done, rng.int(1, 3));
        // Started one after the other (each takes its RNG draws at its start,
        // in schedule order), then running side by side.
        const running: Promise<string>[] = [];
        for (let i = 0; i < batch; i++) {
          await sleep(rng.int(0, 40));
          running.push(c2s.act());
        }
        for (const r of await Promise.all(running)) log.action(r);
        done += batch;
      }
    };

    const losses = async () => {
      const text = await admin.metrics().catch(() => "");
      return LOSSES.reduce(
        (sum, o) =>
          sum + (sample(text, `presence_notify_notifications_total{outcome="${o}"}`) ?? 0),
        0,
      );
    };

    const restartDaemon = async (): Promise<DaemonProcess> => {
      daemon = await scene.daemon(config);
      admin = await AdminClient.of(daemon);
      return daemon;
    };

    const reconnectWorld = async (w: WorldServer) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await w.connect();
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await sleep(250);
        }
      }
    };

    const inject = async (fault: XmppFault) => {
      log.fault(fault);
      switch (fault) {
        case "daemon-kill":
          await daemon.kill();
          await churn(rng.int(3, 10));
          await restartDaemon();
          break;
        case "daemon-term": {
          const code = await daemon.stop();
          if (code !== 0) log.note(`SIGTERM: the daemon exited ${code}, not 0`);
          await churn(rng.int(3, 10));
          await restartDaemon();
          break;
        }
        case "server-kill":
          process.kill(scene.server.pid, "SIGKILL");
          await scene.server.exited;
          c2s.serverDied();
          await scene.server.restart();
          await reconnectWorld(world);
          break;
        case "link-cut":
          link.cut();
          await churn(rng.int(3, 10));
          break;
        case "world-away":
          await world.stop();
          await churn(rng.int(3, 10));
          await reconnectWorld(world);
          break;
        case "hostile": {
          const n = rng.int(3, 8);
          for (let i = 0; i < n; i++) log.action(await c2s.hostile());
          break;
        }
        case "disk-full": {
          const fs = state.fs as NonNullable<typeof state.fs>;
          const ctx = { fs, log, rng, churn, daemon: () => daemon, admin: () => admin };
          return injectDiskFull(ctx);
        }
      }
      return true;
    };

    const bound = kind === "ejabberd" ? 40_000 : 25_000;
    /**
     * "Confirmed by the server": ejabberd lists its sessions, so the harness's
     * open sockets must be exactly them before the view is judged (Prosody
     * has no list; it ends a dead socket's session at once).
     */
    const confirmed = async (): Promise<string | undefined> => {
      const server = scene.server;
      if (server.kind !== "ejabberd") return undefined;
      const held = c2s.live.map((s) => s.jid).sort();
      let listed: string[] = [];
      for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
        listed = (await server.connectedSessions()).filter((j) => !j.startsWith("world@"));
        if (JSON.stringify(listed) === JSON.stringify(c2s.live.map((s) => s.jid).sort())) {
          return undefined;
        }
      }
      const extra = listed.filter((j) => !held.includes(j));
      const missing = held.filter((j) => !listed.includes(j));
      return `ejabberd's sessions are not the harness's: listed but not held ${JSON.stringify(extra)}, held but not listed ${JSON.stringify(missing)}`;
    };

    const quiet = async (label: string) => {
      const escaped = daemon.logs.find((l) => l.event === "escaped_error");
      if (escaped !== undefined) {
        log.failure = `quiet point "${label}": the daemon exited: ${JSON.stringify(escaped)}`;
        log.note(`MISMATCH ${log.failure}`);
        return false;
      }
      const unconfirmed = await confirmed();
      if (unconfirmed !== undefined) {
        log.failure = `quiet point "${label}": ${unconfirmed}`;
        log.note(`MISMATCH ${log.failure}`);
        return false;
      }
      let verdict = await converge(world, c2s, options.mode, losses, bound);
      // Converged: anything still on its way (a second announcement, a stray
      // resend) must not break it either.
      if (verdict.diffs.length === 0) {
        await sleep(1_000);
        verdict = await converge(world, c2s, options.mode, losses, 0);
      }
      state.sample();
      return log.check(label, verdict);
    };

    await churn(options.sessions ?? 30);
    if (!(await quiet("warm-up"))) return log;
    const stopAt = Date.now() + options.durationMs;
    const nextFault = deck(
      rng,
      faultWeights(weights(options.mode), options.only, {
        "disk-full": state.diskFullUnavailable,
      }),
    );
    // Past the time only to deal each fault kind once.
    for (let round = 1; Date.now() < stopAt || nextFault.pending() > 0; round++) {
      await churn(rng.int(4, 16));
      const fault = nextFault();
      if (!(await inject(fault))) return log;
      await churn(rng.int(0, 6));
      if (!(await quiet(`after ${fault} #${round}`))) return log;
    }
    if (daemon.logs.some((l) => l.msg === "supervisor gave up")) {
      log.failure = "the daemon's supervisor gave up";
    }
    log.note(state.describePeak());
    return log;
  } catch (err) {
    log.failure = `the run itself failed: ${(err as Error).stack ?? err}`;
    return log;
  } finally {
    try {
      if (log.failure !== undefined) {
        // Every daemon of the run, debug lines left out: enough to tell a
        // daemon's fault from the harness's.
        for (const d of scene.daemons) {
          log.daemonLogs.push("--- daemon ---");
          for (const l of d.logs) if (l.level !== 20) log.daemonLogs.push(JSON.stringify(l));
        }
      }
      await crowd?.stop();
      await scene.stop().catch(() => undefined);
      await proxy?.stop();
    } finally {
      // After the daemons are gone (their state file is on it), whatever failed.
      state.close();
    }
  }
}
