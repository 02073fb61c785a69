import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * CPU and memory of processes and of the machine, from /proc (Linux only).
 * proc(5): in /proc/PID/stat, utime and stime are fields 14 and 15, in clock
 * ticks, summed over all the process's threads; /proc/stat's `cpu` line is
 * the whole machine.
 */

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) the process has used so far. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 2 (comm) may hold spaces; count from the closing parenthesis (field 3 = index 0).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** The machine's busy and total jiffies over all cores. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** The soft limit on open files of a process, from /proc/PID/limits. */
export function openFilesLimit(pid: number | "self" = "self"): number {
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
  const soft = /Max open files\s+(\S+)/.exec(limits)?.[1];
  return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
}

export function machineDescription(): { cores: number; model: string } {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  return { cores, model };
}

/** The installed version of a Debian package (`dpkg-query -W` prints "NAME\tVERSION"). */
export function packageVersion(name: string): string {
  try {
    const out = execFileSync("dpkg-query", ["-W", name], { encoding: "utf8" });
    return out.trim().split("\t")[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}
