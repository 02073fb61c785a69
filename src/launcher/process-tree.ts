import { readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";

// ejabberdctl runs the node as bash -> su -> sh -> beam.smp, and su puts its
// child in a new session: neither a signal to our child nor one to its
// process group reaches the VM. So the launcher finds its descendants in /proc.

export interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may itself contain spaces and parentheses.
    const close = text.lastIndexOf(")");
    const [state = "", ppid = ""] = text.slice(close + 2).split(" ");
    return { pid, ppid: Number(ppid), state, comm: text.slice(text.indexOf("(") + 1, close) };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `root` (not `root` itself), parents before children. */
export function descendants(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(stat);
    children.set(stat.ppid, siblings);
  }
  const found: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found.filter((p) => p.state !== "Z");
}

/**
 * Whether `proc` still runs: same pid and same command name (so a reused pid
 * is not mistaken for it); a zombie does not count, it only waits to be reaped.
 */
export function isRunning(proc: { pid: number; comm?: string }): boolean {
  const stat = readStat(proc.pid);
  return (
    stat !== undefined && stat.state !== "Z" && (proc.comm === undefined || stat.comm === proc.comm)
  );
}

/** `kill` that ignores processes which are already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * The launcher is a shell script: when the VM dies of a signal, sh and su
 * report it as exit code 128+N. Give it back as the signal, like a direct child.
 */
export function decodeShellExit(
  code: number | null,
  sig: NodeJS.Signals | null,
): { code: number | null; signal: NodeJS.Signals | null } {
  if (code !== null && code > 128) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return { code: null, signal: name as NodeJS.Signals };
  }
  return { code, signal: sig };
}
