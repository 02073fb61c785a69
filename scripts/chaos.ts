/** The longer chaos run: see HELP (`npm run chaos -- --help`). */
import { parseArgs } from "node:util";
import { BROKER_FAULTS, runBrokerChaos } from "../test/harness/chaos-broker.js";
import { STATE_FS_KIB } from "../test/harness/chaos-disk.js";
import type { ChaosLog } from "../test/harness/chaos-log.js";
import type { Mode } from "../test/harness/chaos-oracle.js";
import { freshSeed } from "../test/harness/chaos-rng.js";
import { runXmppChaos, XMPP_FAULTS } from "../test/harness/chaos-xmpp.js";
import { smallFsUnavailable } from "../test/harness/small-fs.js";

const HELP = `npm run chaos -- [--route prosody|ejabberd|broker|all] [--mode durable|memory]
  [--minutes N] [--seed S] [--sessions N] [--accounts N] [--faults a,b] [--unparsable] [--quiet]

A longer chaos run than the suite's (test/e2e/chaos.test.ts): the same
seeded schedule of faults and user actions, the same truth oracle, for N
minutes per route (default 2). Prints the fault log as it goes (stderr),
one line of figures per route (stdout), and on a mismatch the seed and the
whole log; exits 1 if any route found one. The full log of every run is
kept in test-results/chaos-<route>-<mode>-<seed>.log.

Fault kinds (--faults picks some, each as likely; default: all the mode has):
  prosody, ejabberd: ${XMPP_FAULTS.join(", ")}
  broker:            ${BROKER_FAULTS.join(", ")}
Memory mode leaves out daemon-kill and daemon-term (a restarted memory-mode
daemon forgets by design; --faults puts them back) and has no disk-full.
disk-full (durable mode) needs root on Linux: the state file is then on a
${STATE_FS_KIB / 1024} MiB tmpfs for the whole run, filled, churned on, and freed.`;

const ROUTES = ["prosody", "ejabberd", "broker"] as const;

function fail(sentence: string): never {
  process.stderr.write(`chaos: ${sentence}\n`);
  process.exit(64);
}

const { values } = parseArgs({
  options: {
    route: { type: "string", default: "all" },
    mode: { type: "string", default: "durable" },
    minutes: { type: "string", default: "2" },
    seed: { type: "string" },
    sessions: { type: "string" },
    faults: { type: "string" },
    accounts: { type: "string" },
    quiet: { type: "boolean", default: false },
    unparsable: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const routes =
  values.route === "all"
    ? [...ROUTES]
    : ROUTES.includes(values.route as (typeof ROUTES)[number])
      ? [values.route as (typeof ROUTES)[number]]
      : fail(`--route must be prosody, ejabberd, broker or all, not "${values.route}"`);
if (values.mode !== "durable" && values.mode !== "memory") {
  fail(`--mode must be durable or memory, not "${values.mode}"`);
}
const mode = values.mode as Mode;
const minutes = Number(values.minutes);
if (!(minutes > 0)) fail(`--minutes must be a positive number, not "${values.minutes}"`);
const seed = values.seed === undefined ? freshSeed() : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0)
  fail(`--seed must be a non-negative integer, not "${values.seed}"`);
const count = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n > 0
    ? n
    : fail(`--${name} must be a positive integer, not "${value}"`);
};
const only = values.faults?.split(",").map((f) => f.trim());
for (const route of routes) {
  const known: readonly string[] = route === "broker" ? BROKER_FAULTS : XMPP_FAULTS;
  const unknown = only?.filter((f) => !known.includes(f)) ?? [];
  if (unknown.length > 0) {
    fail(`--faults: the ${route} route has no ${unknown.join(", ")} (it has ${known.join(", ")})`);
  }
}
if (only?.includes("disk-full")) {
  const why = mode === "durable" ? smallFsUnavailable() : "it is a durable-mode fault";
  if (why !== undefined) fail(`--faults disk-full cannot run here: ${why}`);
}
const sessions = count("sessions", values.sessions);
const accounts = count("accounts", values.accounts);

// Ctrl-C: exit through process.exit, so the exit hooks run (a tmpfs under
// the state file is unmounted; the servers get the same signal from the terminal).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

const echo = values.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
let failed = false;
for (const route of routes) {
  const options = {
    seed,
    mode,
    durationMs: minutes * 60_000,
    echo,
    ...(sessions === undefined ? {} : { sessions }),
    ...(accounts === undefined ? {} : { accounts }),
    ...(values.unparsable ? { unparsable: true } : {}),
    ...(only === undefined ? {} : { only }),
  };
  process.stderr.write(`chaos: ${route}, ${mode} mode, seed ${seed}, ${minutes} min\n`);
  const log: ChaosLog =
    route === "broker" ? await runBrokerChaos(options) : await runXmppChaos(route, options);
  const file = log.save();
  process.stdout.write(`${log.summary()}\n`);
  if (log.failure !== undefined) {
    failed = true;
    process.stdout.write(`${log.report()}\n(full log: ${file})\n`);
  }
}
process.exit(failed ? 1 : 0);
