import { writeSync } from "node:fs";
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import type { JidView } from "../protocol/pseudonym.js";

export type { Logger } from "pino";

/**
 * The daemon's one logger factory. Secrets never reach a log line: any key
 * named like one is censored, wherever it sits in the object (nested plain
 * objects and arrays, up to `MAX_DEPTH` levels).
 *
 * With `jids` (`log.redact_jids`), the fields that carry a JID (`user`, `to`,
 * `from`, `session`, `jid`) are written as `jids(value)`, a keyed pseudonym,
 * and stanza excerpts are dropped, so a log can leave the host without the
 * users' addresses.
 *
 * Done by `scrub` in pino's `log` formatter, not by pino's `redact` paths:
 * wildcard paths (`*.secret`) cost about 5 µs a line, two thirds of the
 * line, and the daemon writes one line per session transition. Child
 * bindings (`logger.child({...})`) are not scrubbed: bind no secret there
 * (the daemon binds server names only).
 */
const SECRET_FIELDS = new Set(["secret", "password", "token"]);
const JID_FIELDS = new Set(["user", "to", "from", "session", "jid"]);
const MAX_DEPTH = 4;

export function createLogger(
  options: { level?: string; name?: string; jids?: JidView } = {},
  destination?: DestinationStream,
): Logger {
  const { jids } = options;
  const log = (obj: Record<string, unknown>) => scrub(obj, jids, 0);
  SCRUBBERS.set(log, { jids });
  const opts: LoggerOptions = {
    name: options.name ?? "presence-notify",
    level: options.level ?? "info",
    formatters: { log },
  };
  return pino(opts, destination ?? turnDestination(1));
}

// The daemon's log formatters, each with the options it scrubs by: a line
// writer that bypasses pino's generic path (src/telemetry/line-writer.ts)
// applies the same scrub, field by field.
const SCRUBBERS = new WeakMap<object, { jids: JidView | undefined }>();

/** How a logger's lines are scrubbed, if it is one of `createLogger`'s (or its child). */
export function scrubbingOf(log: unknown): { jids: JidView | undefined } | undefined {
  return typeof log === "function" ? SCRUBBERS.get(log) : undefined;
}

/**
 * One top-level field as `scrub` writes it: `value` itself, a replacement,
 * or `NESTED` when it is a container `scrub` would walk into.
 */
export function scrubField(key: string, value: unknown, jids: JidView | undefined): unknown {
  if (SECRET_FIELDS.has(key)) return "[redacted]";
  if (jids && key === "stanza") return "[redacted stanza]";
  if (jids && typeof value === "string" && JID_FIELDS.has(key)) return jids(value);
  if (isContainer(value)) return NESTED;
  return value;
}

/** `scrubField`'s answer for a plain object or array. */
export const NESTED: unique symbol = Symbol("nested");

/**
 * The daemon's default destination (fd 1, stdout): the lines logged during
 * one turn of the event loop, written at its end in one synchronous write
 * (partial writes finished, a full pipe waited out), and at once past
 * 8 KiB. pino's own default writes each line asynchronously through
 * libuv's thread pool whenever no write is in flight: at 2,000 transitions
 * a second, one write per line, about a fifth of the daemon's busy time
 * (bench/e2e.ts, profiled). A line is out by the end of the turn that logged
 * it; the 'exit' handler writes what an exit interrupts; a kill -9 loses at
 * most the lines of its turn.
 *
 * A write the descriptor refuses (EPIPE: nobody reads stdout any more;
 * ENOSPC: a log file on a full disk) drops those lines and the daemon goes
 * on; the next turn's lines are tried again. (pino.destination's flushSync
 * retried such a write forever, every 100 ms: the daemon froze, even to
 * SIGTERM.)
 */
export function turnDestination(fd: number): DestinationStream {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const text = pending;
    pending = "";
    if (text !== "") writeAll(fd, Buffer.from(text, "utf8"));
  };
  process.on("exit", flush);
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= 8 * 1024) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `buf`, waiting out a full non-blocking pipe (EAGAIN); gives up on any other error. */
function writeAll(fd: number, buf: Buffer): void {
  for (let done = 0; done < buf.length; ) {
    try {
      done += writeSync(fd, buf, done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" && code !== "EBUSY") return;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}

/**
 * `obj` with secrets censored (and, with `jids`, JIDs pseudonymised and
 * stanzas dropped); `obj` itself when nothing needs it, a copy otherwise:
 * the caller's object is never changed.
 */
function scrub<T extends object>(obj: T, jids: JidView | undefined, depth: number): T {
  let out: Record<string, unknown> | undefined;
  const source = obj as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const value = source[key];
    let next = scrubField(key, value, jids);
    if (next === NESTED) next = depth < MAX_DEPTH ? scrub(value as object, jids, depth + 1) : value;
    if (next !== value) {
      out ??= (Array.isArray(source) ? [...source] : { ...source }) as Record<string, unknown>;
      out[key] = next;
    }
  }
  return (out ?? obj) as T;
}

/** Plain objects and arrays: what a log object nests; not errors, buffers or class instances. */
function isContainer(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A logger that writes nothing, for code paths that were handed none. */
export const silentLogger: Logger = pino({ level: "silent" });

/**
 * `start --pretty`: pino-pretty's human-readable lines, for someone at a
 * terminal. Loaded only then; JSON stays the default for journald and log
 * shippers. Synchronous, so the last lines before an exit are not lost.
 */
export async function prettyDestination(): Promise<DestinationStream> {
  const { default: pretty } = await import("pino-pretty");
  return pretty({
    colorize: process.stdout.isTTY === true,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "pid,hostname",
    sync: true,
  });
}
