import type { E2eMeasurement, E2eReport, E2eServerReport } from "./e2e.js";
import { chart, type Series } from "./plot.js";
import { stageTable } from "./stage-summary.js";
import { median, spread } from "./stats.js";

/** The end-to-end section of BENCHMARKS.md and its plot, rendered from one run. */

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "–");
const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const range = (values: number[], fmt: (v: number) => string) => {
  if (values.length === 0) return "–";
  const s = spread(values);
  return values.length === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
};
const med = (ms: E2eMeasurement[], pick: (m: E2eMeasurement) => number) =>
  median(ms.map(pick).filter(Number.isFinite));
const name = (s: E2eServerReport) =>
  `${s.server === "prosody" ? "Prosody" : "ejabberd"} ${s.version.replace(/-.*$/, "")}`;

/** Per round, daemon figure over (or minus) the forwarder's of the same round. */
function paired(
  r: E2eServerReport["rates"][number],
  op: (d: E2eMeasurement, fw: E2eMeasurement) => number,
): number[] {
  const out: number[] = [];
  for (const d of r.daemon) {
    const fw = r.forwarder.find((x) => x.round === d.round);
    if (fw) out.push(op(d, fw));
  }
  return out;
}

const ratio = (d: E2eMeasurement, fw: E2eMeasurement) => d.completionPerS / fw.completionPerS;
const p99Gap = (d: E2eMeasurement, fw: E2eMeasurement) => d.latencyMs.p99 - fw.latencyMs.p99;
const pct = (cpuS: number, m: E2eMeasurement) => (cpuS / m.cpu.wallS) * 100;
// A run whose server delivered under a tenth of what was sent (a collapse past
// its ceiling) has no meaningful CPU per notification: shown as "–".
const usPer = (cpuS: number, m: E2eMeasurement) =>
  m.sent - m.missing < m.sent / 10 ? Number.NaN : (cpuS / (m.sent - m.missing)) * 1e6;
/** The daemon's CPU per notification over the forwarder's, each over its whole run. */
const cpuRatio = (d: E2eMeasurement, fw: E2eMeasurement) =>
  usPer(d.cpu.run.subject, d) / usPer(fw.cpu.run.subject, fw);
/** Over the run, the forwarder read less than 97 % of the offered rate: the chain's ceiling. */
const overloaded = (x: E2eServerReport["rates"][number]) =>
  med(x.forwarder, (m) => m.completionPerS) < 0.97 * x.rate;

export function renderE2e(r: E2eReport, machine: string): string {
  const lines: string[] = [
    "## End to end: real servers, real clients, the daemon against a minimal forwarder",
    "",
    "**Question** (issue #7): on a real Prosody and a real ejabberd, with real client sessions changing presence at a fixed arrival rate, how many notifications a second reach the server user, and how much latency the daemon adds (user's presence due → server → daemon → server → server user), against a minimal forwarding component on the same server in the same run, below and at the server's ceiling. Targets: ≥ 0.95 × the forwarder's throughput at the ceiling; p99 within 1 ms of the forwarder's at 2,000 presences/s.",
    "",
    "**Command**: `npm run bench` (all sections), or `npm run bench -- --only e2e` (this section, `bench/results/e2e.svg` and `bench/results/e2e.json`); one measurement alone: `node --import tsx bench/e2e.ts --server prosody|ejabberd --one daemon|forwarder --rate R [--users 1000 --seconds 4]` (JSON on stdout). As root (the servers' launchers need it).",
    "",
    "### Method",
    "",
    "- **Servers**, one at a time, each started once for all its measurements by the tests' launchers (`startProsody`, `startEjabberd` from `src/launcher/` and `testkit/`: generated config in a temp dir, loopback, free ports); Prosody logs at info (debug would log every stanza); ejabberd through `bench/ejabberd-open-files.ts` (its 1024 open-files limit under `su`). The component `presence.localhost` is privileged (XEP-0356 presence `managed_entity`, message `outgoing`) the same way for both subjects.",
    `- **Clients** (\`bench/e2e-fleet.ts\`, one child process): ${r.servers.map((s) => `${n0(s.users)} c2s sessions on ${s.server}`).join(", ")} (Prosody's CPU per presence grew with its number of sessions in trial runs here, to where 2,000/s was its ceiling at 1,000 sessions; the latency target presumes 2,000/s below the ceiling), of \`bench/raw-xmpp-client.ts\`, and the server user \`world\`, so a presence's send time and its notification's arrival are read from one clock (\`performance.now()\`). The users log in without initial presence: every user starts unavailable.`,
    `- **Open loop**: presence *i* is due at start + *i* / rate; the sender wakes on a timer and writes whatever is due, however late (its worst lateness is recorded). Presence *i* goes to user *i* mod the number of users, alternately \`<presence/>\` and \`<presence type="unavailable"/>\` (the stream stays open), so every presence is a transition: one notification from the daemon, one message from the forwarder. ${f(r.warmupS, 1)} s of warm-up, then a ${f(r.seconds, 1)}-s window; latency from the moment a presence was *due* (no coordinated omission) to the moment its notification was read.`,
    "- **Correlation**: a notification's user and presence are read from its JSON (PROTOCOL.md); the *k*-th notification about a user answers that user's *k*-th change, and its presence must match (available for odd *k*). A notification that does not match, or answers no change, fails the run; so does one missing at a rate below the ceiling. At and above the ceiling the backlog at the window's end and anything still missing after a drain of up to 20 s are reported.",
    "- **Throughput**: *read/s in the window* counts the notifications the server user read during the window; *read/s over the run* is every notification of the run (warm-up, window and backlog) over the time from the schedule's start to the last one read. Below the ceiling both equal the offered rate. Above it, both servers were seen to deliver to the server user in bursts, or hardly at all, while the input lasts, and at full speed once it stops (not investigated; plausibly the server user's one connection gets a fair share among a thousand busy ones), so the window's figure swings from run to run; the figure over the run is the chain's capacity, and the one the ceiling ratio uses.",
    "- **Subjects**, each in a fresh process per measurement (`bench/e2e-subject.ts`, `node --import tsx`), so its CPU time is its own: the **daemon**, `startDaemon` with the default configuration but the address, secret and `server_user` (liveness pings on, 200/s cap; the admin listener attached as `presence-notify start` does; log level info, one line per transition, to `/dev/null` through the daemon's default log destination, `turnDestination`, in place of stdout; `bench/bench-daemon.ts`, shared with the pipeline bench); the **forwarder** (`bench/forwarder-component.ts`): socket, stream header, XEP-0114 handshake, stanzas cut out by counting tags, and for every `<presence` one message to the server user from a fixed template in the same format with only the `from` attribute (sliced as written) and the availability spliced in: no state, no checks; the messages of one socket read in one write.",
    "- **Between measurements**: the subject is stopped, every available user sends unavailable, and a ping round trip per session makes sure the server has taken it, so the next subject starts with every user unavailable (the server's replay of live presences at connect is then the server user's alone; the schedule starts 1.5 s after the subject's link is up, past the daemon's 1-s wait for the replay to settle).",
    `- **CPU** (\`/proc/PID/stat\`, sampled every 100 ms): the subject, the server (\`prosody\` or \`beam.smp\`), the clients and the whole machine (\`/proc/stat\`), as % of a core over the window; per notification, the CPU over the whole run (warm-up, window, drain) / the notifications of the run. ${r.rounds} round(s) per server, daemon and forwarder interleaved per rate, the order alternating by round; figures are the median (min–max over rounds), ratios and differences taken per round.`,
    "",
    "### Machine",
    "",
    machine,
    "",
    "### Results",
    "",
    "| server | sessions | throughput at the ceiling (read/s over the run), daemon / forwarder (offered/s) | target | p99 at 2,000/s, daemon − forwarder (ms) | target | CPU per notification at 2,000/s, daemon / forwarder | target | p99 at the lowest rate, daemon − forwarder (ms) |",
    "|---|---:|---:|---|---:|---|---:|---|---:|",
  ];
  for (const s of r.servers) {
    // The ceiling: the rate at which the forwarder carried the most over the
    // run (past it a server can collapse, Prosody here: read/s falls to near 0).
    const top = s.rates.reduce<(typeof s.rates)[number] | undefined>(
      (best, x) =>
        best === undefined ||
        med(x.forwarder, (m) => m.completionPerS) > med(best.forwarder, (m) => m.completionPerS)
          ? x
          : best,
      undefined,
    );
    const at2k = s.rates.find((x) => x.rate === 2_000);
    const lowest = s.rates[0];
    const ratios = top ? paired(top, ratio) : [];
    const gaps = at2k ? paired(at2k, p99Gap) : [];
    const cpuRatios = at2k ? paired(at2k, cpuRatio).filter(Number.isFinite) : [];
    const verdict = (values: number[], ok: (v: number) => boolean) =>
      values.length === 0 ? "–" : ok(median(values)) ? "met" : "**not met**";
    // A rate the forwarder could not carry either is the server's limit, not the daemon's.
    const over =
      at2k && overloaded(at2k) ? " (2,000/s is over this server's ceiling in this run)" : "";
    lines.push(
      `| ${name(s)} | ${n0(s.users)} | ${range(ratios, (v) => f(v, 3))} (${n0(top?.rate ?? Number.NaN)}) | ≥ 0.95: ${verdict(ratios, (v) => v >= 0.95)} | ${range(gaps, (v) => f(v, 2))}${over} | ≤ 1 ms: ${verdict(gaps, (v) => v <= 1)} | ${range(cpuRatios, (v) => `${f(v, 2)}×`)} | ≤ 2×: ${verdict(cpuRatios, (v) => v <= 2)} | ${lowest ? `${range(paired(lowest, p99Gap), (v) => f(v, 2))} (${n0(lowest.rate)}/s)` : "–"} |`,
    );
  }
  for (const s of r.servers) {
    lines.push(
      "",
      `#### ${name(s)}`,
      "",
      `${n0(s.users + 1)} accounts registered in ${f(s.registerMs / 1000, 1)} s; ${n0(s.login.loggedIn)} sessions logged in in ${f(s.login.ms / 1000, 1)} s.`,
      "",
      "| offered/s | read/s in the window, daemon / forwarder | read/s over the run, daemon / forwarder | daemon / forwarder, over the run | daemon p50 / p99 / max (ms) | forwarder p50 / p99 / max (ms) | p99 daemon − forwarder (ms) | backlog at window end, daemon / forwarder | missing after drain, daemon / forwarder | sender late, max (ms) |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const x of s.rates) {
      const lat = (ms: E2eMeasurement[]) =>
        `${f(med(ms, (m) => m.latencyMs.p50))} / ${f(med(ms, (m) => m.latencyMs.p99))} / ${f(
          med(ms, (m) => m.latencyMs.max),
          1,
        )}`;
      const late = Math.max(...[...x.daemon, ...x.forwarder].map((m) => m.senderLateMaxMs));
      lines.push(
        `| ${n0(x.rate)}${overloaded(x) ? " (over the ceiling)" : ""} | ${n0(med(x.daemon, (m) => m.achievedPerS))} / ${n0(
          med(x.forwarder, (m) => m.achievedPerS),
        )} | ${n0(med(x.daemon, (m) => m.completionPerS))} / ${n0(
          med(x.forwarder, (m) => m.completionPerS),
        )} | ${range(paired(x, ratio), (v) => f(v, 3))} | ${lat(x.daemon)} | ${lat(x.forwarder)} | ${range(
          paired(x, p99Gap),
          (v) => f(v, 2),
        )} | ${n0(med(x.daemon, (m) => m.backlogAtWindowEnd))} / ${n0(
          med(x.forwarder, (m) => m.backlogAtWindowEnd),
        )} | ${n0(Math.max(...x.daemon.map((m) => m.missing)))} / ${n0(
          Math.max(...x.forwarder.map((m) => m.missing)),
        )} | ${f(late, 1)} |`,
      );
    }
    const dropped = s.rates.flatMap((x) =>
      [...x.daemon, ...x.forwarder].filter((m) => m.serverUserDropped),
    );
    for (const m of dropped) {
      lines.push(
        "",
        `The server closed the server user's session during round ${m.round + 1}, ${m.who}, ${n0(m.rate)}/s (logged in again before the next measurement).`,
      );
    }
    lines.push(
      "",
      "CPU (median over rounds): % of one core over the window, and µs per notification over the whole run (warm-up, window, drain).",
      "",
      "| offered/s | daemon | forwarder | server, daemon runs | server, forwarder runs | clients, daemon / forwarder runs (%) | machine busy, cores (daemon / forwarder runs) |",
      "|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const x of s.rates) {
      // % of a core over the window; µs per notification over the whole run.
      const cpu = (ms: E2eMeasurement[], which: "subject" | "server") =>
        `${f(
          med(ms, (m) => pct(m.cpu[which], m)),
          0,
        )} % (${f(
          med(ms, (m) => usPer(m.cpu.run[which], m)),
          0,
        )} µs)`;
      lines.push(
        `| ${n0(x.rate)} | ${cpu(x.daemon, "subject")} | ${cpu(x.forwarder, "subject")} | ${cpu(x.daemon, "server")} | ${cpu(x.forwarder, "server")} | ${f(
          med(x.daemon, (m) => pct(m.cpu.fleet, m)),
          0,
        )} / ${f(
          med(x.forwarder, (m) => pct(m.cpu.fleet, m)),
          0,
        )} | ${f(
          med(x.daemon, (m) => m.cpu.machineCores),
          2,
        )} / ${f(
          med(x.forwarder, (m) => m.cpu.machineCores),
          2,
        )} |`,
      );
    }
    const timed = s.rates.find((x) => x.rate === 2_000) ?? s.rates[0];
    const summaries = (timed?.daemon ?? []).flatMap((m) => (m.stages ? [m.stages] : []));
    if (timed && summaries.length > 0) {
      lines.push(
        "",
        `Where the daemon's time goes at ${n0(timed.rate)}/s (its own \`presence_stage_seconds\` over the whole run, median over rounds; p50/p99 are the bucket bounds they fall in):`,
        "",
        ...stageTable(summaries),
      );
    }
  }
  lines.push("", "![throughput and p99 latency against offered load](bench/results/e2e.svg)");
  if (r.failures.length > 0) {
    lines.push("", "**Correctness failures in this run:**", "", ...r.failures.map((x) => `- ${x}`));
  }
  return lines.join("\n");
}

const COLORS: Record<string, Record<"daemon" | "forwarder", string>> = {
  prosody: { daemon: "#c0392b", forwarder: "#2c7fb8" },
  ejabberd: { daemon: "#e67e22", forwarder: "#27ae60" },
};

export function e2eChart(r: E2eReport): string {
  const series = (pick: (m: E2eMeasurement) => number): Series[] =>
    r.servers.flatMap((s) =>
      (["daemon", "forwarder"] as const).map((who) => ({
        name: `${who}, ${s.server}`,
        color: COLORS[s.server]?.[who] ?? "#555",
        points: s.rates.map((x) => ({ x: x.rate, y: med(x[who], pick) })),
      })),
    );
  return chart("presence-notify end to end: throughput and p99 latency against offered load", [
    {
      title: "End to end: throughput against offered load",
      xLabel: "offered presences/s (open loop)",
      yLabel: "notifications/s read, over the run",
      series: series((m) => m.completionPerS),
    },
    {
      title: "End to end: p99 latency against offered load",
      xLabel: "offered presences/s (open loop)",
      yLabel: "p99 ms, presence due to notification (log)",
      logY: true,
      series: series((m) => m.latencyMs.p99),
    },
  ]);
}
