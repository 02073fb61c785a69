import { defineConfig } from "vitest/config";

// Two layers: unit/property tests (no network, injected time) and end-to-end
// tests against real XMPP servers started by test/harness. The e2e layer runs
// files one at a time: every file starts its own servers, and two cores do not
// leave room for several Prosody/ejabberd instances plus the daemon at once.
export default defineConfig({
  test: {
    // The JSON report is what .ci/run reads for its totals line.
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
