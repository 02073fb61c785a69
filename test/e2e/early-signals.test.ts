import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";

// A signal that arrives while the daemon starts (modules loading, the
// configuration read, the state file restored, the admin listener bound)
// must not take its default action: SIGHUP would end the process, and
// systemd counts death by SIGHUP (or SIGTERM) as a clean exit, so
// `Restart=on-failure` leaves the daemon down after `systemctl reload` at
// the wrong moment (src/app/signals.ts). A state file with many sessions
// makes the restore, inside start-up, long enough to aim at: the signal is
// sent once the process holds the state file open (seen in /proc: the log
// is buffered, so a line is no marker), about a second before "starting".

const BIN = join(import.meta.dirname, "../../bin/presence-notify");
const SESSIONS = 400_000;
const dir = mkdtempSync(join(tmpdir(), "pn-early-signals-"));

beforeAll(() => {
  const store = openStore(join(dir, "template.db"));
  store.transaction(() => {
    for (let i = 0; i < SESSIONS; i++) store.sessions.available(`u${i}@localhost/r`);
  });
  store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A daemon on a copy of the template state file, its component port closed (it keeps retrying). */
function daemon(name: string): {
  child: ChildProcess;
  state: string;
  lines: string[];
  exited: Promise<Exit>;
} {
  const state = join(dir, `${name}.db`);
  // The template is closed (its WAL checkpointed into the file): a plain copy is a whole database.
  copyFileSync(join(dir, "template.db"), state);
  const config = join(dir, `${name}.toml`);
  writeFileSync(
    config,
    `[component]
service = "xmpp://127.0.0.1:9"
domain = "presence.localhost"
secret = "s3cr3t-value"
[notify]
server_user = "world"
[durability]
mode = "sqlite"
path = "${state}"
`,
  );
  const child = spawn(process.execPath, [BIN, "start", "--config", config], {
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let rest = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const text = rest + chunk.toString("utf8");
    const parts = text.split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
    child.emit("lines");
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, state, lines, exited };
}

/** Resolves once the daemon's process has the state file open. */
async function holdsStateFile(d: ReturnType<typeof daemon>): Promise<void> {
  const fds = `/proc/${d.child.pid}/fd`;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const open = readdirSync(fds).some((fd) => {
      try {
        return readlinkSync(join(fds, fd)) === d.state;
      } catch {
        return false; // closed meanwhile
      }
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`the daemon never opened ${d.state}`);
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once a logged line's msg starts with `msg` (rejects after 20 s). */
function logged(d: ReturnType<typeof daemon>, msg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const seen = () => d.lines.some((l) => l.includes(`"msg":"${msg}`));
    if (seen()) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`no "${msg}" in:\n${d.lines.join("\n")}`)),
      20_000,
    );
    d.child.on("lines", () => {
      if (!seen()) return;
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("signals while the daemon starts", () => {
  it("a SIGHUP during start-up is a reload once the daemon runs, not the end of the process", async () => {
    const d = daemon("hup");
    await holdsStateFile(d);
    d.child.kill("SIGHUP");
    const died = d.exited.then((e) => {
      throw new Error(`the daemon ended on the SIGHUP: ${JSON.stringify(e)}`);
    });
    await Promise.race([logged(d, "reconnecting after backoff"), died]);
    await logged(d, "configuration reloaded");
    d.child.kill("SIGTERM");
    expect(await d.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it("a SIGTERM during start-up stops the daemon cleanly: exit 0, the state file kept", async () => {
    const d = daemon("term");
    await holdsStateFile(d);
    d.child.kill("SIGTERM");
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(d.lines.some((l) => l.includes('"msg":"stopped'))).toBe(true);
  }, 60_000);
});
