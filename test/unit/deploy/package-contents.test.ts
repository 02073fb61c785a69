import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyOfCheckout, type PackageCopy, packedPaths } from "./package-copy.js";

// What `npm pack` (and so `npm publish`) puts in the package: the daemon, its
// configuration and the server modules; not the test launchers (testkit/),
// the tests, the benchmarks or the TypeScript sources.

// What a build before testkit/ existed left in dist/: the test-only launchers.
const STALE = ["dist/servers/ejabberd.js", "dist/servers/rabbitmq.js"];

describe("npm pack --dry-run", () => {
  let copy: PackageCopy;
  let files: string[];

  beforeAll(async () => {
    copy = await copyOfCheckout(STALE);
    await copy.npm(["run", "build", "--silent"]);
    files = packedPaths(await copy.npm(["pack", "--dry-run", "--json", "--ignore-scripts"]));
  }, 120_000);

  afterAll(async () => {
    await copy?.remove();
  });

  it("holds the CLI, the daemon, its entry points, the configuration and the server modules", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "bin/presence-notify",
        "dist/app/cli.js",
        "dist/app/signals.js",
        "dist/app/daemon.js",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/consumer.js",
        "dist/consumer.d.ts",
        "dist/client.js",
        "dist/client.d.ts",
        "dist/app/watch-command.js",
        // The demo ships: `presence-notify demo` starts this Prosody.
        "dist/app/demo.js",
        "dist/launcher/prosody.js",
        "config/presence-notify.example.toml",
        "config/presence-notify.service",
        "server-modules/prosody/mod_presence_notify_guard.lua",
        "server-modules/ejabberd/mod_presence_notify_guard.erl",
      ]),
    );
  });

  it("holds no test launcher, test, benchmark or TypeScript source", () => {
    const outside = files.filter(
      (f) => f.includes("/") && !/^(bin|dist|config|server-modules)\//.test(f),
    );
    expect(outside).toEqual([]);
    expect(files.filter((f) => /(^|\/)(testkit|servers|test|bench)\//.test(f))).toEqual([]);
  });

  it("builds dist/ afresh: every file in it comes from a source in src/", () => {
    // Regression: tsc alone never deletes an output whose source is gone, so a
    // checkout built before the launchers moved out of src/ packed them still.
    const orphans = files
      .filter((f) => f.startsWith("dist/"))
      .map((f) => f.replace(/^dist\//, "src/").replace(/(\.d)?\.(js|ts)(\.map)?$/, ".ts"))
      .filter((source) => !existsSync(join(copy.dir, source)));
    expect(orphans).toEqual([]);
    for (const stale of STALE) expect(files).not.toContain(stale);
  });
});
