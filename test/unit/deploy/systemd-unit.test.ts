import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../src/config/duration.js";
import { resolveConfig } from "../../../src/config/load.js";
import { DEFAULTS } from "../../../src/config/schema.js";
import { CREDENTIALS_VARIABLE } from "../../../src/config/secret.js";

// config/presence-notify.service, read as systemd reads it: the hardening
// an operator relies on is there, and the secret path it documents works
// with the configuration loader. `systemd-analyze verify` and `security
// --offline=yes` check the rest where systemd is installed (README).

const UNIT = readFileSync(
  fileURLToPath(new URL("../../../config/presence-notify.service", import.meta.url)),
  "utf8",
);

/** section -> key -> values (a key may repeat); comments and blank lines skipped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      current = new Map();
      sections.set(header[1], current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current === undefined || eq < 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const unit = parseUnit(UNIT);
const service = unit.get("Service") ?? new Map<string, string[]>();
const value = (key: string) => service.get(key)?.at(-1);

/** systemd's time spans as used here: "30s", "5min", "2s". */
function seconds(span: string | undefined): number {
  const match = /^(\d+)(s|min)?$/.exec(span ?? "");
  if (!match) throw new Error(`unexpected time span ${span}`);
  return Number(match[1]) * (match[2] === "min" ? 60 : 1);
}

describe("the systemd unit", () => {
  it("has the three sections", () => {
    expect([...unit.keys()]).toEqual(["Unit", "Service", "Install"]);
    expect(unit.get("Install")?.get("WantedBy")).toEqual(["multi-user.target"]);
  });

  it.each([
    ["Type", "simple"],
    ["Restart", "on-failure"],
    ["User", "presence-notify"],
    ["DynamicUser", "yes"],
    ["NoNewPrivileges", "yes"],
    ["ProtectSystem", "strict"],
    ["ProtectHome", "yes"],
    ["PrivateTmp", "yes"],
    ["StateDirectory", "presence-notify"],
    ["CapabilityBoundingSet", ""],
    ["AmbientCapabilities", ""],
    ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"],
    ["SystemCallFilter", "@system-service"],
    ["ExecReload", "/bin/kill -HUP $MAINPID"],
    ["KillSignal", "SIGTERM"],
    ["LoadCredential", "component-secret:/etc/presence-notify/secret"],
  ])("sets %s=%s", (key, expected) => {
    expect(value(key)).toBe(expected);
  });

  it("never sets MemoryDenyWriteExecute=yes, which kills V8's JIT", () => {
    expect(value("MemoryDenyWriteExecute")).toBeUndefined();
  });

  it("waits out a restart and gives up on configuration errors", () => {
    expect(seconds(value("RestartSec"))).toBeGreaterThanOrEqual(1);
    expect(value("RestartPreventExitStatus")?.split(" ")).toEqual(["64", "78"]);
  });

  it("lets the drain finish before SIGKILL: TimeoutStopSec > drain_timeout + the link's close", () => {
    const drain = parseDuration(String(DEFAULTS["shutdown.drain_timeout"]));
    if (!drain.ok) throw new Error("bad default");
    const connectionCloseS = 5; // the connection child's shutdown in src/app/daemon.ts
    expect(seconds(value("TimeoutStopSec"))).toBeGreaterThan(drain.ms / 1000 + connectionCloseS);
  });

  it("writes only to its state directory, where durability.path's default is", () => {
    expect(value("ReadWritePaths")).toBeUndefined();
    expect(DEFAULTS["durability.path"]).toBe(`/var/lib/${value("StateDirectory")}/state.db`);
  });

  it("starts the daemon with the configuration file the comments install", () => {
    expect(value("ExecStart")).toMatch(
      /\/presence-notify start --config \/etc\/presence-notify\/presence-notify\.toml$/,
    );
  });

  it("documents a secret_file that the loader resolves inside systemd's credentials directory", () => {
    const documented = /secret_file = "(.+)"/.exec(UNIT)?.[1];
    expect(documented).toBe(`${CREDENTIALS_VARIABLE}/component-secret`);
    const credential = value("LoadCredential")?.split(":")[0];
    const dir = "/run/credentials/presence-notify.service";
    const { config, sources } = resolveConfig({
      text: `[component]\nsecret_file = "${documented}"\n`,
      path: "/etc/presence-notify/presence-notify.toml",
      env: { CREDENTIALS_DIRECTORY: dir },
      readFile: (path) => {
        if (path !== `${dir}/${credential}`)
          throw Object.assign(new Error(path), { code: "ENOENT" });
        return "the-secret\n";
      },
    });
    expect(config.component.secret.value()).toBe("the-secret");
    expect(sources["component.secret"]).toBe(`secret_file ${dir}/component-secret`);
  });
});
