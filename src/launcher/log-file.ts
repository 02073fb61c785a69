import { closeSync, openSync, readSync, statSync } from "node:fs";

/**
 * Reading a throwaway server's log file: its tail for error messages, and
 * its size so readiness checks only look at what this process wrote.
 */

/** Up to `maxBytes` from the end of `path`, not before offset `from`; "" if unreadable. */
export function readTail(path: string, from: number, maxBytes: number): string {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const start = Math.max(from, size - maxBytes);
    const buf = Buffer.alloc(Math.max(0, size - start));
    fd = openSync(path, "r");
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString("utf8");
  } catch {
    return "";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
