import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// This package's ejabberd module, mod_presence_notify_guard: it drops
// presences a user addresses straight to the component, which otherwise look
// exactly like mod_privilege's broadcasts (SERVERS.md). ejabberd loads modules
// from its code path only, so the source is compiled per instance (~0.3 s).

/** testkit/ runs from source only (never built): one level up. */
export const GUARD_SOURCE = fileURLToPath(
  new URL("../server-modules/ejabberd/mod_presence_notify_guard.erl", import.meta.url),
);

export const GUARD_MODULE = "mod_presence_notify_guard";

/** Debian's ejabberd ebin: on erlc's path only so `-behaviour(gen_mod)` resolves. */
const EJABBERD_EBIN = "/usr/lib/x86_64-linux-gnu/ejabberd-23.01-1/ebin";

/** Compiles the guard into `<dir>/ebin` and returns that directory. */
export async function compileGuard(dir: string): Promise<string> {
  const ebin = join(dir, "ebin");
  await mkdir(ebin, { recursive: true });
  const args = [
    "-o",
    ebin,
    ...(existsSync(EJABBERD_EBIN) ? ["-pa", EJABBERD_EBIN] : []),
    GUARD_SOURCE,
  ];
  await new Promise<void>((resolve, reject) => {
    execFile("erlc", args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`erlc ${GUARD_SOURCE} failed: ${`${stdout}${stderr}`.trim()}`));
      else resolve();
    });
  });
  return ebin;
}
