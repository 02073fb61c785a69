import type { MemoryResult } from "./memory.js";
import type { Measurement, PipelineReport } from "./pipeline.js";
import { chart } from "./plot.js";
import { stageTable } from "./stage-summary.js";
import { median, spread } from "./stats.js";

/** The pipeline and memory sections of BENCHMARKS.md, rendered from one run. */

const n0 = (v: number) => Math.round(v).toLocaleString("en-US");
const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : "–");
const range = (values: number[], fmt: (v: number) => string) => {
  const s = spread(values);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
};
const eps = (ms: Measurement[]) => ms.map((m) => m.eventsPerSecond);

export function renderPipeline(r: PipelineReport, machine: string): string {
  const lines: string[] = [];
  lines.push(
    "## Pipeline: socket bytes in to notification bytes out",
    "",
    "**Question** (issue #7): how many presences a second the daemon's real code path turns into notifications, against a hand-written minimal component on the same socket, and what latency it adds at a given load.",
    "",
    "**Command**: `npm run bench` (this section and `bench/results/pipeline.svg`); one measurement alone: `node --import tsx bench/pipeline.ts --one subject|baseline --mode flood|paced [--rate R] --events N`.",
    "",
    "### Method",
    "",
    '- `bench/fake-component-server.ts`: an in-process XMPP server on a loopback TCP port. It does the XEP-0114 handshake (stream id, `<handshake>` = hex SHA-1(stream id + secret), as `@xmpp/component` computes it), sends the XEP-0356 privilege advertisement as Prosody does, then writes privileged presences as Prosody\'s mod_privilege forwards them (`<presence from="flux.actor.N@world.example.com/sim-K" to="presence.localhost">` with `<priority>` and an XEP-0115 `<c/>`; `type="unavailable"` ones empty), 10,000 sessions alternating available / unavailable, so every presence is a transition that notifies once. Every notification read back is checked in order (user, presence, `to`); a mismatch or a missing one fails the run (exit 1).',
    "- **Subject**: the real daemon, `startDaemon` (supervisor, `ComponentLink` over `@xmpp/component`, the service, notifier actor) with default configuration but the address, secret and `server_user`, and the admin listener attached as `presence-notify start` does (on by default; port 0); log level `info` (the default: one line per transition) to `/dev/null` through the daemon's default log destination (`turnDestination`: the lines of one event-loop turn in one synchronous write at its end), in place of stdout; `bench/bench-daemon.ts`, shared with the end-to-end bench. Each round also runs the daemon once more at log level `warn`, against the same round's baseline, to show what the transition log costs.",
    "- **Baseline** (`bench/baseline-component.ts`): the same handshake on the same kind of socket; stream parse with the **same parser** (`@xmpp/xml`'s Parser over ltx, which `@xmpp/component` uses), so the ratio is what the daemon adds on top of parsing; a `Map` state switch; the same notification bytes from a string template (random UUID trace, `JSON.stringify` payload); corked writes (one write per socket read).",
    `- **Flood** (closed loop): at most ${r.window} presences in flight (written but not yet answered); ${n0(r.events)} presences measured after a warm-up. **Paced** (open loop): a fixed arrival rate for a few seconds; latency from the moment the schedule says a presence is due to the moment its notification is read (so a late writer counts against the subject, no coordinated omission).`,
    `- Every measurement is a fresh process (\`node --import tsx\`), subject and baseline interleaved, the order alternating by round; ${r.rounds} round(s); figures are the median (min–max over rounds). The fake server shares the process (and its core) with the component under test, the same for both.`,
    "",
    "### Machine",
    "",
    machine,
    "",
    "### Results",
    "",
    "| measure | daemon | baseline | daemon / baseline |",
    "|---|---:|---:|---:|",
    `| flood throughput, events/s | ${range(eps(r.flood.subject), n0)} | ${range(eps(r.flood.baseline), n0)} | ${range(r.flood.ratios, (v) => f(v, 3))} |`,
    `| the same, daemon at log level \`warn\` (no line per transition) | ${range(eps(r.quiet.subject), n0)} | (the same baseline runs) | ${range(r.quiet.ratios, (v) => f(v, 3))} |`,
  );
  lines.push(
    "",
    "Open loop (median over rounds; latency in ms, presence due to notification read):",
    "",
    "| offered/s | daemon achieved/s | daemon p50 / p99 / max | baseline achieved/s | baseline p50 / p99 / max |",
    "|---:|---:|---:|---:|---:|",
  );
  for (const p of r.paced) {
    const lat = (ms: Measurement[]) =>
      `${f(spread(ms.map((m) => m.latencyP50Ms ?? Number.NaN)).median)} / ${f(spread(ms.map((m) => m.latencyP99Ms ?? Number.NaN)).median)} / ${f(spread(ms.map((m) => m.latencyMaxMs ?? Number.NaN)).median, 1)}`;
    lines.push(
      `| ${n0(p.rate)} | ${n0(spread(eps(p.subject)).median)} | ${lat(p.subject)} | ${n0(spread(eps(p.baseline)).median)} | ${lat(p.baseline)} |`,
    );
  }
  const timed = r.paced.find((p) => p.rate === 2_000) ?? r.paced[0];
  const summaries = (timed?.subject ?? []).flatMap((m) => (m.stages ? [m.stages] : []));
  if (timed && summaries.length > 0) {
    lines.push(
      "",
      `Where the daemon's time goes at ${n0(timed.rate)}/s (its own \`presence_stage_seconds\` histogram over the measured run, median over rounds; p50/p99 are the bucket bounds they fall in):`,
      "",
      ...stageTable(summaries),
    );
  }
  lines.push("", "![throughput and p99 latency against load](bench/results/pipeline.svg)");
  if (r.failures.length > 0) {
    lines.push("", "**Correctness failures in this run:**", "", ...r.failures.map((x) => `- ${x}`));
  }
  return lines.join("\n");
}

export function renderMemory(
  runs: { result: MemoryResult; mapBytes: number }[],
  machine: string,
): string {
  const lines = [
    "## Memory: heap per tracked session",
    "",
    "**Question** (issue #7): heap bytes per tracked session at 100k and 1M sessions (target ≤ 300 B at 1M), and the event loop's delay while they are tracked (target: no stall > 20 ms).",
    "",
    "**Command**: `npm run bench`; one size alone: `node --expose-gc --import tsx bench/memory.ts --sessions 1000000 --rate 1000 --seconds 60`.",
    "",
    "### Method",
    "",
    "- `bench/memory.ts`: `createService` (registry, router, liveness with its defaults: 30 s, 10 s, 200 pings/s; the resync) and its notifier actor, on a link that takes every stanza and answers every ping as a live session's server does. Presences enter as the daemon's socket sees them: 16 KB chunks of text through xmpp.js's streaming parser (JID strings are slices of a chunk, as in production).",
    "- Heap per session = (`heapUsed` after N distinct available sessions `flux.actor.N@world.example.com/sim-K`, notifications drained, `gc()` twice) − (the same with the empty service), / N.",
    "- Baseline in the same run (fresh process): one `Map<fullJid, number>` of flat strings, the least any session tracker holds.",
    "- Then, N sessions tracked, presence continues at 1,000 toggles/s (a random session goes unavailable and comes back: 2,000 presences and notifications/s) for " +
      String(runs[0]?.result.seconds ?? 0) +
      " s (long enough for the session maps to rebuild their tables at least once: a 20-s window missed the stalls that caused) while `monitorEventLoopDelay` (10 ms resolution, reported as the excess over it) records the loop's delay; liveness pings the sessions quiet for 30 s. The run fails if not all N sessions are tracked by the registry and by liveness, or a notification is missing.",
    "",
    "### Machine",
    "",
    machine,
    "",
    "### Results",
    "",
    "| sessions | heap empty → full (MiB) | bytes / session | Map baseline, bytes / session | ratio | feed time (s) | loop delay p99 / max (ms) | liveness pings in window | notifications in window |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const { result: m, mapBytes } of runs) {
    lines.push(
      `| ${n0(m.sessions)} | ${f(m.heapEmptyMiB, 1)} → ${f(m.heapFullMiB, 1)} | ${n0(m.bytesPerSession)} | ${n0(mapBytes)} | ${f(m.bytesPerSession / mapBytes, 1)} | ${f(m.feedSeconds, 1)} | ${f(m.loopP99Ms, 1)} / ${f(m.loopMaxMs, 1)} | ${n0(m.pings)} | ${n0(m.notifications)} |`,
    );
  }
  return lines.join("\n");
}

/** bench/results/pipeline.svg: throughput and p99 against offered load, daemon and baseline. */
export function pipelineChart(pipeline: PipelineReport): string {
  const med = (ms: number[]) => median(ms);
  return chart("presence-notify pipeline: throughput and p99 latency against offered load", [
    {
      title: "Pipeline: throughput against offered load",
      xLabel: "offered presences/s (open loop)",
      yLabel: "notifications/s (median of rounds)",
      series: [
        {
          name: "daemon",
          color: "#c0392b",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.subject.map((m) => m.eventsPerSecond)),
          })),
        },
        {
          name: "hand-written baseline",
          color: "#2c7fb8",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.baseline.map((m) => m.eventsPerSecond)),
          })),
        },
      ],
    },
    {
      title: "Pipeline: p99 latency against offered load",
      xLabel: "offered presences/s (open loop)",
      yLabel: "p99 ms, presence in to notification out (log)",
      logY: true,
      series: [
        {
          name: "daemon",
          color: "#c0392b",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.subject.map((m) => m.latencyP99Ms ?? 0)),
          })),
        },
        {
          name: "hand-written baseline",
          color: "#2c7fb8",
          points: pipeline.paced.map((p) => ({
            x: p.rate,
            y: med(p.baseline.map((m) => m.latencyP99Ms ?? 0)),
          })),
        },
      ],
    },
  ]);
}
