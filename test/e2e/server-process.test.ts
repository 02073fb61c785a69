import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../../src/launcher/polling.js";
import { descendants, isRunning } from "../../src/launcher/process-tree.js";
import { type ServerProcessSpec, serverProcess } from "../../src/launcher/server-process.js";
import { silentLogger } from "../../src/telemetry/log.js";

// The lifecycle every launcher shares, on plain Node processes instead of a
// real server: what "ready", a startup failure and a stop mean, including a
// process tree that ignores SIGTERM. Real processes and real time.

const dir = mkdtempSync(join(tmpdir(), "pn-server-process-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class StartFailed extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(message);
  }
}

let files = 0;
/** A Node child running `script`, with `LOG` the path of its log file. */
function spec(script: string, overrides: Partial<ServerProcessSpec> = {}): ServerProcessSpec {
  const logPath = join(dir, `server-${++files}.log`);
  return {
    label: "toy",
    command: process.execPath,
    args: [
      "-e",
      `const LOG = ${JSON.stringify(logPath)}; const fs = require("node:fs"); ${script}`,
    ],
    cwd: dir,
    logPath,
    context: "config toy.cfg",
    readiness: {
      what: "say it is listening",
      ready: (log) => log.includes("listening"),
      failure: (log) => /FATAL[^\n]*/.exec(log)?.[0],
      timeoutMs: 5_000,
      intervalMs: 10,
    },
    stopTimeoutMs: 2_000,
    startError: (message, logTail) => new StartFailed(message, logTail),
    logger: silentLogger,
    ...overrides,
  };
}

const LISTEN = 'fs.appendFileSync(LOG, "listening\\n"); setInterval(() => {}, 1000);';

describe("serverProcess", () => {
  it("is ready when its log says so, and stops on SIGTERM", async () => {
    const proc = serverProcess(spec(LISTEN));
    await proc.start();
    const pid = proc.pid;
    expect(isRunning({ pid })).toBe(true);
    await proc.stop();
    expect(await proc.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(isRunning({ pid })).toBe(false);
    await proc.stop(); // idempotent
  });

  it("throws at once what the log shows, with the context and the log tail, secrets redacted", async () => {
    const proc = serverProcess(
      spec(
        'fs.appendFileSync(LOG, "FATAL cannot bind, password hunter2\\n"); setInterval(() => {}, 1000);',
        {
          secrets: ["hunter2"],
        },
      ),
    );
    const before = Date.now();
    const error = await proc.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartFailed);
    expect((error as StartFailed).message).toBe(
      "FATAL cannot bind, password [redacted]; config toy.cfg",
    );
    expect((error as StartFailed).logTail).toContain("password [redacted]");
    expect((error as StartFailed).logTail).not.toContain("hunter2");
    expect(Date.now() - before).toBeLessThan(2_000);
    expect(isRunning({ pid: proc.pid })).toBe(false);
  });

  it("throws the exit when the process dies during startup, its stderr in the tail", async () => {
    const proc = serverProcess(spec('process.stderr.write("no config\\n"); process.exit(3);'));
    const error = (await proc.start().catch((e: unknown) => e)) as StartFailed;
    expect(error.message).toBe("toy exited during startup (code 3, signal null); config toy.cfg");
    expect(error.logTail).toContain("[stderr] no config");
  });

  it("gives up after the readiness timeout with what it waited for", async () => {
    const proc = serverProcess(
      spec("setInterval(() => {}, 1000);", {
        readiness: {
          what: "say it is listening",
          ready: () => false,
          timeoutMs: 300,
          intervalMs: 10,
        },
      }),
    );
    const error = (await proc.start().catch((e: unknown) => e)) as StartFailed;
    expect(error.message).toBe("toy did not say it is listening within 300 ms; config toy.cfg");
    expect(isRunning({ pid: proc.pid })).toBe(false);
  });

  it("kills a tree that ignores SIGTERM after the stop timeout, grandchildren included", async () => {
    // The child and its grandchild both ignore SIGTERM, as a hung server would.
    const grandchild = `process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);`;
    const script = [
      'process.on("SIGTERM", () => {});',
      `const g = require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { stdio: "ignore" });`,
      'g.on("spawn", () => fs.appendFileSync(LOG, "listening\\n"));',
      "setInterval(() => {}, 1000);",
    ].join("\n");
    const proc = serverProcess(spec(script, { stopTimeoutMs: 300 }));
    await proc.start();
    const tree = descendants(proc.pid);
    expect(tree.length).toBe(1);
    await proc.stop();
    expect(await proc.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(tree.filter(isRunning)).toEqual([]);
  });

  it("starts again after a stop, on the same files (a restart)", async () => {
    const s = spec(LISTEN);
    const proc = serverProcess(s);
    await proc.start();
    const first = proc.pid;
    await proc.stop();
    await proc.start();
    expect(proc.pid).not.toBe(first);
    expect(existsSync(s.logPath ?? "")).toBe(true);
    await proc.stop();
  });

  it("kills its server when this Node process exits without stopping it", async () => {
    // A test runner dying without its afterAll: the parent exits, the child goes with it.
    const src = resolve(import.meta.dirname, "../../src");
    const parent = join(dir, "parent.mts");
    writeFileSync(
      parent,
      [
        `import { serverProcess } from ${JSON.stringify(join(src, "launcher/server-process.ts"))};`,
        `import { silentLogger } from ${JSON.stringify(join(src, "telemetry/log.ts"))};`,
        "const proc = serverProcess({",
        '  label: "toy", command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"],',
        `  cwd: ${JSON.stringify(dir)}, stopTimeoutMs: 1000, logger: silentLogger,`,
        '  readiness: { what: "run", ready: () => true, timeoutMs: 5000, intervalMs: 10 },',
        "  startError: (message) => new Error(message),",
        "});",
        "await proc.start();",
        "console.log(proc.pid);",
        "process.exit(0);",
        "",
      ].join("\n"),
    );
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", parent]);
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !isRunning({ pid }), 2_000, `the orphaned child ${pid} to die`);
  });
});
