import type { Detection, LoginReport } from "./client-fleet.js";
import { machineDescription, packageVersion } from "./proc-stats.js";

/**
 * The liveness benchmark's figures and their Markdown rendering, the text
 * BENCHMARKS.md is copied from.
 */

export interface Window {
  phase: string;
  liveness: string;
  tracked: number;
  seconds: number;
  pings: number;
  answered: number;
  alive: number;
  gone: number;
  timeouts: number;
  /** % of one core: mean over the window and min/max over its slices. */
  ejabberd: Spread;
  daemon: Spread;
  fleet: number;
  machine: number;
  loopP99Ms: number;
  loopMaxMs: number;
  ejabberdRss: number;
  daemonRss: number;
  daemonHeap: number;
}

export interface Spread {
  mean: number;
  min: number;
  max: number;
}

export interface DetectionSummary {
  how: "drop" | "mute";
  count: number;
  detected: number;
  p50: number;
  p90: number;
  max: number;
}

export function summarize(all: Detection[], how: "drop" | "mute"): DetectionSummary {
  const mine = all.filter((d) => d.how === how);
  const ms = mine
    .map((d) => d.ms)
    .filter((m): m is number => m !== undefined)
    .sort((a, b) => a - b);
  const q = (p: number) =>
    ms.length ? (ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] as number) : Number.NaN;
  return {
    how,
    count: mine.length,
    detected: ms.length,
    p50: q(0.5),
    p90: q(0.9),
    max: ms.at(-1) ?? Number.NaN,
  };
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const signed = (n: number) => (n >= 0 ? `+${f1(n)}` : f1(n));
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "n/a");
const s1 = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : "n/a");

export function report(r: {
  sessions: number;
  concurrency: number;
  sliceS: number;
  cores: number;
  date: string;
  registerMs: number;
  login: LoginReport;
  windows: Window[];
  detections: DetectionSummary[];
  falseAlarms: number;
  faultedAt: string;
}): string {
  const { model } = machineDescription();
  const [a] = r.windows;
  const lines = [
    `Run started ${r.date}: ${r.cores} × ${model}, Node ${process.version}, ejabberd ${packageVersion("ejabberd")}.`,
    "",
    `Setup: ${r.sessions + 1} accounts registered over the HTTP API in ${s1(r.registerMs)} s; ` +
      `${r.login.loggedIn} sessions logged in (SASL PLAIN, bind, presence; ${r.concurrency} at a time) ` +
      `in ${s1(r.login.ms)} s = ${f0(r.login.loggedIn / (r.login.ms / 1000))}/s, ` +
      `login latency p50 ${r.login.latencyMs.p50} ms, p99 ${r.login.latencyMs.p99} ms, max ${r.login.latencyMs.max} ms.`,
    "",
    `| phase | liveness | tracked | pings/s (daemon) | answered/s (clients) | ejabberd CPU, % of a core: mean (${r.sliceS}-s min–max) | daemon CPU, % of a core: mean (min–max) | daemon event-loop delay p99 / max (ms) | clients' CPU, % of a core | whole machine busy, % of a core (others) | ejabberd RSS (MiB) | daemon RSS / heap (MiB) |`,
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...r.windows.map(
      (w) =>
        `| ${w.phase} | ${w.liveness} | ${w.tracked} | ${f1(w.pings / w.seconds)} | ${f1(w.answered / w.seconds)} | ` +
        `${f1(w.ejabberd.mean)} (${f1(w.ejabberd.min)}–${f1(w.ejabberd.max)}) | ` +
        `${f1(w.daemon.mean)} (${f1(w.daemon.min)}–${f1(w.daemon.max)}) | ` +
        `${f1(w.loopP99Ms)} / ${f1(w.loopMaxMs)} | ${f1(w.fleet)} | ` +
        `${f0(w.machine)} (${f0(w.machine - w.ejabberd.mean - w.daemon.mean - w.fleet)}) | ` +
        `${f0(w.ejabberdRss)} | ${f0(w.daemonRss)} / ${f0(w.daemonHeap)} |`,
    ),
    "",
  ];
  if (a) {
    lines.push(
      "| cost of liveness vs A | pings/s | ejabberd, % of a core | ejabberd CPU per ping (µs) | daemon, % of a core | daemon CPU per ping (µs) |",
      "|---|---:|---:|---:|---:|---:|",
    );
    for (const w of r.windows.slice(1)) {
      const rate = w.pings / w.seconds;
      const dEj = w.ejabberd.mean - a.ejabberd.mean;
      const dDm = w.daemon.mean - a.daemon.mean;
      lines.push(
        `| ${w.phase} − A | ${f1(rate)} | ${signed(dEj)} | ${f0((dEj / 100 / rate) * 1e6)} | ${signed(dDm)} | ${f0((dDm / 100 / rate) * 1e6)} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    `Detection during B (faults injected ${r.faultedAt}; time from the fault to the server user's \`unavailable\` notification):`,
    "",
    "| fault | sessions | reported | p50 (s) | p90 (s) | max (s) |",
    "|---|---:|---:|---:|---:|---:|",
    ...r.detections.map(
      (d) =>
        `| ${d.how === "drop" ? "socket destroyed (ejabberd answers service-unavailable)" : "client stops answering, socket open (two 10 s timeouts)"} | ${d.count} | ${d.detected} | ${s1(d.p50)} | ${s1(d.p90)} | ${s1(d.max)} |`,
    ),
    "",
    `Healthy sessions reported unavailable during B: ${r.falseAlarms}.`,
  );
  const shared = r.windows.filter(
    (w) => w.machine - w.ejabberd.mean - w.daemon.mean - w.fleet > 10,
  );
  if (shared.length > 0) {
    lines.push(
      "",
      `Other processes used more than 10 % of a core during ${shared.map((w) => w.phase).join(", ")} (the "others" figure): the machine was shared, CPU shares there are noisier.`,
    );
  }
  return lines.join("\n");
}
