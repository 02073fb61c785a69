import { execFile } from "node:child_process";
import { sleep } from "../src/launcher/polling.js";

// ejabberd's admin commands, two ways in: ejabberdctl (one Erlang VM start per
// call, ~0.3-0.45 s) and mod_http_api (POST /api/COMMAND with a JSON object of
// arguments, ~2 ms), which only a `startEjabberd({ httpApi: true })` node serves.

/** An ejabberdctl or HTTP API command failed. */
export class EjabberdCommandError extends Error {
  readonly _tag = "EjabberdCommandError";
  constructor(message: string) {
    super(message);
    this.name = "EjabberdCommandError";
  }
}

/** ejabberdctl's exit status when its RPC to the node fails (ejabberd_ctl:start/0). */
export const RPC_FAILED = 3;

export interface Ejabberdctl {
  /** One call; resolves with the exit status and output, never rejects. */
  run(args: readonly string[]): Promise<{ code: number; output: string }>;
  /** Resolves with the output of a successful call; retries RPC failures. */
  call(args: readonly string[]): Promise<string>;
}

/** `prefix` selects the node: `--config-dir DIR --spool DIR --logs DIR`. */
export function ejabberdctl(prefix: readonly string[], cwd: string): Ejabberdctl {
  const run = (args: readonly string[]): Promise<{ code: number; output: string }> =>
    new Promise((resolve) => {
      execFile("ejabberdctl", [...prefix, ...args], { cwd, timeout: 60_000 }, (err, out, errs) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, output: `${out}${errs}` });
      });
    });
  const call = async (args: readonly string[]): Promise<string> => {
    // Parallel ejabberdctl clients name themselves "<3 hex chars>-ctl-<node>";
    // a clash kills one's connection (RPC failure): try again.
    for (let attempt = 1; ; attempt++) {
      const { code, output } = await run(args);
      if (code === 0) return output;
      if (code !== RPC_FAILED || attempt === 3) {
        // Only the command name: the arguments may hold a password. The
        // script appends its usage text to failures; that explains nothing.
        const why = output.split("\nCommands to start")[0]?.trim().slice(-500);
        throw new EjabberdCommandError(`ejabberdctl ${args[0]} failed (exit ${code}): ${why}`);
      }
      await sleep(100 * attempt);
    }
  };
  return { run, call };
}

/** A caller of mod_http_api on 127.0.0.1:`port`, or one that explains why it cannot. */
export function httpApi(
  port: number | undefined,
): <T = unknown>(command: string, args?: Record<string, unknown>) => Promise<T> {
  return async <T>(command: string, args: Record<string, unknown> = {}): Promise<T> => {
    if (port === undefined) {
      throw new EjabberdCommandError(`api(${command}) needs startEjabberd({ httpApi: true })`);
    }
    const response = await fetch(`http://127.0.0.1:${port}/api/${command}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(args),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new EjabberdCommandError(`HTTP API ${command} failed (${response.status}): ${text}`);
    }
    return JSON.parse(text) as T;
  };
}
