import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acceptsConnection } from "../../src/launcher/ports.js";

// The README's quick start: `presence-notify demo` on the local Debian Prosody.

const BIN = join(import.meta.dirname, "../../bin/presence-notify");

describe("presence-notify demo", () => {
  it("runs Prosody under the daemon's tree and shows simulated users coming and going", async () => {
    const child = spawn(process.execPath, [BIN, "demo", "--duration", "7", "--users", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(0);
    const ports = /Prosody on 127\.0\.0\.1:(\d+)/.exec(stdout);
    expect(ports).not.toBeNull();
    expect(stdout).toMatch(
      /available\s+flux\.actor\.1@localhost\/sim-1\s+\(from presence\.localhost\)/,
    );
    expect(stdout).toMatch(/unavailable\s+flux\.actor\.\d@localhost\/sim-\d/);
    expect(stdout.trimEnd().endsWith("demo stopped")).toBe(true);
    // It reads like a demo (#16 item 9): the banner first, the daemon's
    // connection in a sentence, never a raw JSON log line.
    expect(stdout.split("\n")[0]).toBe("presence-notify demo");
    expect(stdout).toMatch(/^ {2}daemon: connected to Prosody as its component$/m);
    expect(`${stdout}\n${stderr}`).not.toMatch(/^\s*\{/m);
    // Nothing of the demo's Prosody survives it: its ports are closed.
    const port = Number(ports?.[1]);
    expect(await acceptsConnection(port)).toBe(false);
  });
});
