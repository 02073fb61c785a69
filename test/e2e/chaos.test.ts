import { describe, expect, it } from "vitest";
import { runBrokerChaos } from "../harness/chaos-broker.js";
import type { ChaosLog } from "../harness/chaos-log.js";
import { runXmppChaos } from "../harness/chaos-xmpp.js";

// Issue #15 item 7: faults never lose or fork the truth. A seeded schedule
// of faults (kill -9 and SIGTERM of the daemon, kill -9 of the XMPP server,
// the component link cut, the server user away, hostile users; on the
// broker route a broker restart; in durable mode, as root, a full disk
// under the state file, then freed) while dozens of real sessions come, go,
// drop their sockets and change <show>. After each fault a quiet point
// compares the server user's view, rebuilt from its notifications, with
// the truth the harness holds (test/harness/chaos-oracle.ts). A failure
// prints the seed and the fault log; `npm run chaos -- --route R --seed S`
// replays it, and runs longer with `--minutes N`.
//
// CI keeps it short (a few seeds, about 20 s of faults each). Seeds other
// than the fixed ones: CHAOS_SEEDS="7,8".

const SEEDS = (process.env.CHAOS_SEEDS ?? "1,2")
  .split(",")
  .map((s) => Number(s.trim()))
  .filter((s) => Number.isInteger(s));
const FAULTS_MS = 20_000;

function expectAgreed(log: ChaosLog): void {
  log.save();
  if (log.failure !== undefined) throw new Error(log.report());
  expect(log.checks).toBeGreaterThan(2);
  expect(Object.values(log.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(1);
}

describe.each(["prosody", "ejabberd"] as const)("%s: chaos with a truth oracle", (kind) => {
  it.each(SEEDS)(
    "durable mode, seed %i: after every fault each session's numbered notifications are its transitions, ending in the truth",
    async (seed) => {
      expectAgreed(await runXmppChaos(kind, { seed, mode: "durable", durationMs: FAULTS_MS }));
    },
    150_000,
  );
});

describe("prosody: chaos in memory mode", () => {
  it("memory mode, seed 3 (no daemon restarts: a restarted memory daemon forgets by design): every gap is a counted loss", async () => {
    expectAgreed(await runXmppChaos("prosody", { seed: 3, mode: "memory", durationMs: 12_000 }));
  }, 120_000);
});

describe("broker route: chaos with a truth oracle", () => {
  it("durable mode, seed 1: each session's notifications are exactly the transitions published", async () => {
    expectAgreed(
      await runBrokerChaos({ seed: SEEDS[0] ?? 1, mode: "durable", durationMs: FAULTS_MS }),
    );
  }, 150_000);
});
