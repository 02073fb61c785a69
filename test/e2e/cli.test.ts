import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// The CLI as an operator meets it: the real binary, real files, exit codes.

const BIN = join(import.meta.dirname, "../../bin/presence-notify");
const dir = mkdtempSync(join(tmpdir(), "pn-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const valid = (extra = "") => `[component]
service = "xmpp://127.0.0.1:5347"
domain = "presence.localhost"
secret = "s3cr3t-value"
[notify]
${extra}`;

describe("presence-notify check-config", () => {
  it("prints every effective value with its source, the secret redacted", () => {
    const { code, stdout } = run(
      ["check-config", "--config", file("ok.toml", valid('include = ["flux.*"]'))],
      {
        WORLD_SERVER_USERNAME: "backend",
      },
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/notify\.server_user\s+=\s+"backend"\s+\(env WORLD_SERVER_USERNAME\)/);
    expect(stdout).toMatch(/notify\.include\s+=\s+\["flux\.\*"\]\s+\(file\)/);
    expect(stdout).toMatch(/component\.secret\s+=\s+\[redacted\]\s+\(file\)/);
    expect(stdout).not.toContain("s3cr3t-value");
  });

  it.each([
    [
      "a server_user that is not a localpart",
      valid('server_user = "wo rld"'),
      {},
      /notify\.server_user/,
    ],
    [
      "WORLD_SERVER_USERNAME with an @",
      valid(),
      { WORLD_SERVER_USERNAME: "a@b" },
      /WORLD_SERVER_USERNAME/,
    ],
    ["an unknown key", valid('serveruser = "x"'), {}, /serveruser/],
    ["broken TOML", "[component\nservice=", {}, /line/],
  ])("exits 78 with a sentence naming the problem for %s", (_name, text, env, pattern) => {
    const { code, stderr, stdout } = run(["check-config", "--config", file("bad.toml", text)], env);
    expect(code).toBe(78);
    expect(stderr).toMatch(pattern);
    expect(stdout).toBe("");
  });

  it("exits 78 for a missing file", () => {
    expect(run(["check-config", "--config", join(dir, "nope.toml")]).code).toBe(78);
  });
});

describe("presence-notify start", () => {
  it("exits 78 on an invalid configuration before connecting anywhere", async () => {
    // A listener where the config points: any connection attempt would show up here.
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const text = valid('server_user = "bad/user"').replace("5347", String(port));
    const { code, stderr } = run(["start", "--config", file("start-bad.toml", text)]);
    server.close();
    expect(code).toBe(78);
    expect(stderr).toMatch(/notify\.server_user/);
    expect(connections).toBe(0);
  });

  it("exits 64 on a usage error", () => {
    expect(run(["start"]).code).toBe(64);
    expect(run(["frobnicate"]).code).toBe(64);
  });
});
