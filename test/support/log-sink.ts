import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/telemetry/log.js";

/**
 * A real pino logger whose JSON lines are parsed into `records`, so logging
 * tests assert on what an operator would read, not on calls to a mock.
 */
export function logSink(level = "debug"): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) {
        if (line.trim() !== "") records.push(JSON.parse(line));
      }
      done();
    },
  });
  return { logger: createLogger({ level }, stream), records };
}
