import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createLogger, turnDestination } from "../../src/telemetry/log.js";

// The daemon's default log destination, on a real file descriptor.

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("turnDestination", () => {
  const dir = mkdtempSync(join(tmpdir(), "pn-log-"));
  const path = join(dir, "out.log");
  let fd = -1;
  afterEach(() => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the lines of one turn together at its end, in order", async () => {
    fd = openSync(path, "w");
    const logger = createLogger({ level: "info" }, turnDestination(fd));
    for (let i = 0; i < 3; i++) logger.info({ i }, "line");
    expect(readFileSync(path, "utf8")).toBe("");
    await nextTurn();
    const lines = readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    logger.info({ i: 3 }, "line");
    await nextTurn();
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(4);
  });

  it("writes at once past 8 KiB, without waiting for the turn to end", async () => {
    fd = openSync(path, "w");
    const logger = createLogger({ level: "info" }, turnDestination(fd));
    const filler = "x".repeat(1024);
    for (let i = 0; i < 20; i++) logger.info({ filler }, "big");
    expect(readFileSync(path, "utf8").length).toBeGreaterThan(8 * 1024);
    await nextTurn(); // the rest, before the descriptor is closed
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(20);
  });
});
