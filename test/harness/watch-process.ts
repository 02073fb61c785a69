import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../../src/launcher/polling.js";
import { followJsonLines } from "./json-lines.js";

const BIN = join(import.meta.dirname, "../../bin/presence-notify");

export interface WatchLine {
  type: "snapshot" | "change";
  sessions?: string[];
  complete?: boolean;
  position?: number | null;
  trigger?: string;
  reason?: string;
  user?: string;
  presence?: string;
  at: string;
}

/**
 * `presence-notify watch` as an operator runs it: its own process, the
 * password in a file, its stdout parsed line by line as it comes.
 */
export class WatchProcess {
  readonly lines: WatchLine[] = [];
  stderr = "";
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "pn-watch-"));
  readonly passwordFile = join(this.dir, "password");

  constructor(
    private readonly flags: { service: string; jid: string; component: string; password: string },
    private readonly extra: string[] = [],
  ) {
    writeFileSync(this.passwordFile, `${flags.password}\n`, { mode: 0o600 });
  }

  start(): this {
    const { service, jid, component } = this.flags;
    const args = ["watch", "--service", service, "--jid", jid, "--component", component];
    const child = spawn(
      process.execPath,
      [BIN, ...args, "--password-file", this.passwordFile, "--sasl", "PLAIN", ...this.extra],
      { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    this.exited = followJsonLines<WatchLine>(
      child,
      (line) => this.lines.push(line),
      (text) => {
        this.stderr += text;
      },
    );
    return this;
  }

  /** What a reader of the lines believes now: the last snapshot line plus the changes after it. */
  view(): string[] {
    const last = this.lines.map((l) => l.type).lastIndexOf("snapshot");
    const seen = new Set<string>(this.lines[last]?.sessions ?? []);
    for (const l of this.lines.slice(last + 1)) {
      if (l.presence === "available") seen.add(l.user ?? "");
      else seen.delete(l.user ?? "");
    }
    return [...seen].sort();
  }

  snapshots(): WatchLine[] {
    return this.lines.filter((l) => l.type === "snapshot");
  }

  async waitForView(expected: readonly string[], timeoutMs = 15_000): Promise<void> {
    const want = JSON.stringify([...expected].sort());
    await waitFor(() => JSON.stringify(this.view()) === want, timeoutMs, "watch's view").catch(
      (err: Error) => {
        const got = JSON.stringify(this.view());
        throw new Error(`${err.message}: want ${want}, got ${got}\nstderr: ${this.stderr}`);
      },
    );
  }

  async waitForLines(predicate: (lines: WatchLine[]) => boolean, what: string, timeoutMs = 15_000) {
    await waitFor(() => predicate(this.lines), timeoutMs, what).catch((err: Error) => {
      throw new Error(
        `${err.message}\nlines: ${JSON.stringify(this.lines)}\nstderr: ${this.stderr}`,
      );
    });
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill(signal);
    return this.exited ?? null;
  }

  exitCode(): Promise<number | null> {
    return this.exited ?? Promise.resolve(null);
  }

  cleanup(): void {
    this.child?.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
