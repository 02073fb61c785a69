import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Judgement, Mode } from "./chaos-oracle.js";

/**
 * What a chaos run did and found: the fault log (faults and user actions,
 * with the time since the start), the figures BENCHMARKS.md quotes, and the
 * first mismatch. On failure everything needed to replay it is printed: the
 * seed, the route, the mode and the log.
 */
export class ChaosLog {
  readonly lines: string[] = [];
  /** Lines that are user actions (the rest are faults, checks and notes). */
  private readonly actionLines = new Set<number>();
  /** Options beyond route, mode and seed that the replay needs (`--faults`, `--sessions`). */
  replayArgs: string[] = [];
  /** The daemon's own log lines at a failure (kept in the saved file, not printed). */
  daemonLogs: string[] = [];
  readonly faults: Record<string, number> = {};
  /** What faults made the daemon do, counted from its log (`store_unwritable`...). */
  readonly counts: Record<string, number> = {};
  checks = 0;
  sessionsChecked = 0;
  actions = 0;
  excused = 0;
  failure: string | undefined;
  private readonly started = Date.now();

  constructor(
    readonly route: string,
    readonly seed: number,
    readonly mode: Mode,
    private readonly echo?: (line: string) => void,
  ) {}

  note(line: string): void {
    const entry = `+${((Date.now() - this.started) / 1000).toFixed(1)}s ${line}`;
    this.lines.push(entry);
    this.echo?.(entry);
  }

  fault(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
    this.note(`FAULT ${kind}`);
  }

  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  action(what: string): void {
    this.actions++;
    this.actionLines.add(this.lines.length);
    this.note(what);
  }

  /** Records a quiet point's judgement; false (and `failure` set) on a mismatch. */
  check(label: string, verdict: Judgement): boolean {
    this.checks++;
    this.sessionsChecked += verdict.sessions;
    this.excused += verdict.excused.length;
    for (const e of verdict.excused) this.note(`excused by a counted loss: ${e}`);
    if (verdict.diffs.length === 0) {
      this.note(`CHECK ${label}: ${verdict.sessions} sessions agree (${verdict.online} online)`);
      return true;
    }
    this.failure = `quiet point "${label}": ${verdict.diffs.length} sessions differ\n  ${verdict.diffs.join("\n  ")}`;
    this.note(`MISMATCH ${this.failure}`);
    return false;
  }

  get mismatches(): number {
    return this.failure === undefined ? 0 : 1;
  }

  elapsedS(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** One line of figures. */
  summary(): string {
    const list = (counts: Record<string, number>) =>
      Object.entries(counts)
        .sort()
        .map(([k, n]) => `${k}=${n}`)
        .join(" ");
    const seen = Object.keys(this.counts).length === 0 ? "" : ` daemon {${list(this.counts)}}`;
    return `chaos ${this.route} seed=${this.seed} mode=${this.mode} ${this.elapsedS().toFixed(0)}s: faults {${list(this.faults)}}${seen} actions=${this.actions} checks=${this.checks} sessions_checked=${this.sessionsChecked} excused=${this.excused} mismatches=${this.mismatches}`;
  }

  /**
   * The message of a failed run: how to replay it, what differed, and the
   * fault log (every fault and check, and the last user actions before the
   * mismatch; `save()` keeps all of them).
   */
  report(recentActions = 40): string {
    const firstRecent = this.lines.length - recentActions;
    const shown = this.lines.filter((_, i) => !this.actionLines.has(i) || i >= firstRecent);
    return [
      `chaos run failed: ${this.failure}`,
      `replay: npm run chaos -- --route ${this.route} --mode ${this.mode} --seed ${this.seed}${this.replayArgs.map((a) => ` ${a}`).join("")}`,
      this.summary(),
      `fault log (user actions: the last ${recentActions} only):`,
      ...shown,
    ].join("\n");
  }

  /** Keeps the whole log under test-results/ (a CI artefact). */
  save(dir = "test-results"): string {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `chaos-${this.route}-${this.mode}-${this.seed}.log`);
    const daemon =
      this.daemonLogs.length === 0 ? "" : `daemon logs:\n${this.daemonLogs.join("\n")}\n`;
    writeFileSync(
      file,
      `${this.summary()}\n${this.failure ?? "no mismatch"}\n${this.lines.join("\n")}\n${daemon}`,
    );
    return file;
  }
}
