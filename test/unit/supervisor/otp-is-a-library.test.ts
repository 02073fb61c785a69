import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Issue #16: src/otp is the generic OTP runtime (supervisors, child specs,
// restart intensity, backoff, reports, OS processes, guarded timers). It must
// stay a library: nothing in it may import the domain, so it imports only
// its own files, Node's modules, xstate and pino.
const OTP = join(import.meta.dirname, "../../../src/otp");
const ALLOWED = [/^\.\/[a-z-]+\.js$/, /^node:/, /^xstate$/, /^pino$/];

describe("src/otp", () => {
  it("imports nothing outside itself but node:, xstate and pino", () => {
    const files = readdirSync(OTP).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    const outside: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(OTP, file), "utf8");
      for (const m of text.matchAll(/(?:from|import\()\s*"([^"]+)"/g)) {
        const specifier = m[1] ?? "";
        if (!ALLOWED.some((re) => re.test(specifier))) outside.push(`${file}: ${specifier}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
