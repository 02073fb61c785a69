import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// The CLI as an operator meets it: the real binary, real files, exit codes.

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/presence-notify");
const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
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
    // Issue #14, item 4: the server folds case; "World" would never be recognised.
    [
      "WORLD_SERVER_USERNAME with capitals",
      valid(),
      { WORLD_SERVER_USERNAME: "World" },
      /notify\.server_user from env WORLD_SERVER_USERNAME .*write "world"/,
    ],
    ["an unknown key", valid('serveruser = "x"'), {}, /serveruser/],
    ["broken TOML", "[component\nservice=", {}, /line/],
    // Injection attempts: each is refused, naming the key, before anything is sent.
    [
      "a server_user that would break out of the JID",
      valid('server_user = "w\\"/><message to=\\"x"'),
      {},
      /notify\.server_user .*is not a valid JID localpart/,
    ],
    [
      "a server_user with a control character from the environment",
      valid(),
      { PRESENCE_NOTIFY_NOTIFY_SERVER_USER: "world\u0007" },
      /notify\.server_user from env PRESENCE_NOTIFY_NOTIFY_SERVER_USER/,
    ],
    [
      "a glob with a control character",
      valid('include = ["flux.\\u0000*"]'),
      {},
      /notify\.include\[0\] .*is not a usable glob/,
    ],
    ["a key given twice", valid('server_user = "a"\nserver_user = "b"'), {}, /not valid TOML/],
    ["a __proto__ key", valid("__proto__ = 1"), {}, /not valid TOML|__proto__/],
    [
      "a secret in an inline table",
      '[component]\nsecret = { value = "x" }',
      {},
      /component\.secret/,
    ],
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
    const unknown = run(["start", "--config", "x.toml", "--colour"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'[\s\S]*usage: presence-notify start/);
  });

  it("logs JSON lines by default and human-readable lines with --pretty", async () => {
    // A component port nobody listens on: the daemon keeps retrying until told to stop.
    const text = valid().replace("5347", "9");
    const path = file("pretty.toml", text);
    const pretty = await runUntilLogged(["start", "--config", path, "--pretty"], /reconnecting/);
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO \(presence-notify\): starting$/m,
    );
    expect(pretty.stdout).toMatch(/^\s+service: "xmpp:\/\/127\.0\.0\.1:9"$/m);
    expect(pretty.stdout).not.toMatch(/^\{/m);
    expect(pretty.stdout).not.toContain("s3cr3t-value");
    const json = await runUntilLogged(["start", "--config", path], /"msg":"reconnecting/);
    expect(json.code).toBe(0);
    const lines = json.stdout.trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).msg)).toContain("starting");
  });
});

/**
 * Runs the binary until stdout matches `pattern`, then SIGTERM; the exit code
 * and stdout. Match a line logged after the signal handlers are in place
 * (any line after "starting").
 */
function runUntilLogged(args: string[], pattern: RegExp) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  return new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no ${pattern} in:\n${stdout}`));
    }, 15_000);
    let signalled = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      // Once: a second SIGTERM can land while the process is already exiting,
      // after Node closed its signal handlers, and kill it (exit code null).
      if (signalled || !pattern.test(stdout)) return;
      signalled = true;
      child.kill("SIGTERM");
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

describe("presence-notify --help and --version", () => {
  it.each(["--help", "-h", "help"])("%s prints the commands and exits 0", (flag) => {
    const { code, stdout } = run([flag]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: presence-notify <command>/);
    expect(stdout).toMatch(/start --config FILE \[--pretty\]/);
  });

  it.each([
    ["start", /--pretty[\s\S]*SIGHUP/],
    ["check-config", /\[redacted\]/],
    ["demo", /--users N[\s\S]*--duration SECONDS/],
  ])("%s --help (and -h) prints that command's usage and exits 0", (command, detail) => {
    for (const flag of ["--help", "-h"]) {
      const { code, stdout, stderr } = run([command, flag]);
      expect(code).toBe(0);
      expect(stderr).toBe("");
      expect(stdout).toMatch(new RegExp(`^usage: presence-notify ${command}`));
      expect(stdout).toMatch(detail);
    }
  });

  it("--version prints package.json's version", () => {
    for (const flag of ["--version", "-v"]) {
      expect(run([flag])).toMatchObject({ code: 0, stdout: `presence-notify ${VERSION}\n` });
    }
  });

  it("--version works from an installed copy, through npm's .bin link", () => {
    // The layout npm install leaves: the package's published files under
    // node_modules/presence-notify, and node_modules/.bin/presence-notify a link to its bin.
    const installed = join(dir, "app/node_modules/presence-notify");
    mkdirSync(installed, { recursive: true });
    for (const part of ["bin", "dist", "package.json"]) {
      cpSync(join(ROOT, part), join(installed, part), { recursive: true });
    }
    // Its dependencies, where Node looks for them from the installed copy.
    symlinkSync(join(ROOT, "node_modules"), join(installed, "node_modules"));
    mkdirSync(join(dir, "app/node_modules/.bin"));
    const link = join(dir, "app/node_modules/.bin/presence-notify");
    symlinkSync("../presence-notify/bin/presence-notify", link);
    const result = spawnSync(process.execPath, [link, "--version"], {
      cwd: join(dir, "app"),
      encoding: "utf8",
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`presence-notify ${VERSION}\n`);
  });
});
