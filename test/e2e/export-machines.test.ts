import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createMachine } from "xstate";

// `presence-notify export-machines` as an operator runs it: the real binary,
// a real directory, exit codes.

const BIN = join(import.meta.dirname, "../../bin/presence-notify");
const dir = mkdtempSync(join(tmpdir(), "pn-export-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("presence-notify export-machines", () => {
  it("writes one JSON config per machine and a guide, creating DIR", () => {
    const out = join(dir, "new", "machines");
    const { code, stdout } = run(["export-machines", "--out", out]);
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      "README.md",
      "connection.json",
      "notifier.json",
      "resync.json",
      "session.json",
    ]);
    expect(stdout.trim().split("\n")).toHaveLength(5);
    const session = createMachine(JSON.parse(readFileSync(join(out, "session.json"), "utf8")));
    expect(Object.keys(session.states)).toEqual(["offline", "available", "unavailable"]);
    expect(readFileSync(join(out, "README.md"), "utf8")).toMatch(/Without access to stately\.ai/);
  });

  it("prints its help with --help", () => {
    const { code, stdout } = run(["export-machines", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/usage: presence-notify export-machines --out DIR/);
  });

  it.each([[[]], [["--out"]], [["--out", "x", "extra"]], [["--dir", "x"]]])(
    "exits 64 on %j",
    (args) => {
      const { code, stderr } = run(["export-machines", ...args]);
      expect(code).toBe(64);
      expect(stderr).toMatch(/usage: presence-notify export-machines/);
    },
  );

  it("exits 73 with a sentence when DIR cannot be written", () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const { code, stderr } = run(["export-machines", "--out", join(file, "machines")]);
    expect(code).toBe(73);
    expect(stderr).toMatch(/^presence-notify: cannot write the machines to .*a-file\/machines: /);
  });
});
