import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../../src/launcher/polling.js";
import { followJsonLines } from "./json-lines.js";

const BIN = join(import.meta.dirname, "../../bin/presence-notify");

/**
 * The daemon as an operator runs it: `bin/presence-notify start --config F`
 * in its own process, its pino JSON lines parsed as they come.
 */
export class DaemonProcess {
  readonly logs: Record<string, unknown>[] = [];
  stderr = "";
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "pn-daemon-"));
  readonly configPath = join(this.dir, "presence-notify.toml");

  constructor(
    config: string,
    private readonly env: Record<string, string> = {},
    /** More arguments to `start`, e.g. `--inspect=127.0.0.1:0`. */
    private readonly args: string[] = [],
  ) {
    writeFileSync(this.configPath, config);
  }

  /** The daemon's process id, once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): this {
    const child = spawn(
      process.execPath,
      [BIN, "start", "--config", this.configPath, ...this.args],
      {
        env: { PATH: process.env.PATH ?? "", ...this.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.child = child;
    this.exited = followJsonLines<Record<string, unknown>>(
      child,
      (line) => this.logs.push(line),
      (text) => {
        this.stderr += text;
      },
    );
    return this;
  }

  /** Waits for a log line whose fields include `fields`. */
  async waitForLog(
    fields: Record<string, unknown>,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    const match = (l: Record<string, unknown>) =>
      Object.entries(fields).every(([k, v]) => l[k] === v);
    try {
      return await waitFor(
        () => this.logs.find(match),
        timeoutMs,
        `a log line with ${JSON.stringify(fields)}`,
      );
    } catch (err) {
      const logs = this.logs.map((l) => JSON.stringify(l)).join("\n");
      throw new Error(`${(err as Error).message}\nlogs:\n${logs}\nstderr: ${this.stderr}`);
    }
  }

  /** Sends a signal without waiting for anything (SIGHUP: reload). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Rewrites the configuration file, if given, then SIGHUP, as `systemctl reload` does. */
  reload(config?: string): void {
    if (config !== undefined) writeFileSync(this.configPath, config);
    this.signal("SIGHUP");
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    return this.exited ?? null;
  }

  kill(): Promise<number | null> {
    return this.stop("SIGKILL");
  }

  async exitCode(): Promise<number | null> {
    return this.exited ?? null;
  }

  cleanup(): void {
    this.child?.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
