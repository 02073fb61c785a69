import { describe, expect, it } from "vitest";
import { DemoLog } from "../../../src/app/demo-log.js";

const json = (o: object) => JSON.stringify({ level: 30, time: 1, ...o });

describe("the demo's view of the daemon's log", () => {
  it("says once, in a sentence, that Prosody's component port is not open yet, then that it connected", () => {
    const log = new DemoLog();
    const refused = json({
      level: 40,
      msg: "component connection failed",
      err: "connect ECONNREFUSED 127.0.0.1:1",
    });
    const first = log.line(refused);
    expect(first).toMatch(
      /^ {2}daemon: Prosody's component port is not open yet \(connect ECONNREFUSED/,
    );
    expect(log.line(refused)).toBeUndefined();
    expect(log.line(json({ msg: "reconnecting after backoff" }))).toBeUndefined();
    expect(log.line(json({ msg: "component connected" }))).toBe(
      "  daemon: connected to Prosody as its component",
    );
  });

  it("shows a failure after the connection as a warning, and any other warning or error in one line", () => {
    const log = new DemoLog();
    log.line(json({ msg: "component connected" }));
    expect(log.line(json({ level: 40, msg: "component connection failed", err: "x" }))).toBe(
      "  daemon warning: component connection failed (x)",
    );
    expect(log.line(json({ level: 50, msg: "presence_notify_error: boom" }))).toBe(
      "  daemon error: presence_notify_error: boom",
    );
    expect(log.line(json({ level: 30, msg: "session transition" }))).toBeUndefined();
  });

  it("never prints a raw JSON line: what it cannot parse is quoted as text", () => {
    const log = new DemoLog();
    expect(log.line("not json")).toBe("  daemon: not json");
    expect(log.line("")).toBeUndefined();
  });

  it("as a destination, splits chunks into lines wherever they break", async () => {
    const said: string[] = [];
    const dest = new DemoLog().destination((l) => said.push(l));
    const line = `${json({ level: 50, msg: "bad" })}\n`;
    await new Promise<void>((r) => dest.write(line.slice(0, 10), () => r()));
    await new Promise<void>((r) => dest.write(line.slice(10), () => r()));
    expect(said).toEqual(["  daemon error: bad"]);
  });
});
