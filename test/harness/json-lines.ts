import type { ChildProcess } from "node:child_process";

/**
 * A child process's stdout read as JSON lines, each parsed as it completes,
 * and its stderr gathered as text; resolves with its exit code.
 */
export function followJsonLines<T>(
  child: ChildProcess,
  onLine: (value: T) => void,
  onStderr: (text: string) => void,
): Promise<number | null> {
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    partial += chunk.toString("utf8");
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(JSON.parse(line) as T);
  });
  child.stderr?.on("data", (chunk: Buffer) => onStderr(chunk.toString("utf8")));
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}
