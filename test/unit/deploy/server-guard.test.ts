import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { GUARD_PLUGIN_PATH, renderProsodyConfig } from "../../../src/launcher/prosody-config.js";
import { renderEjabberdctlCfg, renderEjabberdYml } from "../../../testkit/ejabberd-config.js";
import { GUARD_SOURCE } from "../../../testkit/ejabberd-guard.js";

// mod_presence_notify_guard ships in the package and the generated configs
// load it (test/e2e/directed-presence.test.ts shows what it refuses).

const ROOT = resolve(import.meta.dirname, "../../..");
const published: string[] = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")).files;

const prosody = (guard: boolean) =>
  renderProsodyConfig({
    dir: "/tmp/x",
    c2sPort: 1,
    componentPort: 2,
    domains: ["localhost"],
    component: { domain: "presence.localhost", secret: "s" },
    presence: "managed_entity",
    message: "outgoing",
    offline: false,
    guard,
    debug: false,
  });

const ejabberd = (guard: boolean) =>
  renderEjabberdYml({
    c2sPort: 1,
    componentPort: 2,
    domains: ["localhost"],
    component: { domain: "presence.localhost", secret: "s" },
    presence: "managed_entity",
    message: "outgoing",
    guard,
    debug: false,
  });

describe("mod_presence_notify_guard in the package and the generated configs", () => {
  it("ships both modules in a directory package.json publishes", () => {
    const lua = resolve(GUARD_PLUGIN_PATH, "mod_presence_notify_guard.lua");
    for (const file of [lua, GUARD_SOURCE]) {
      expect(existsSync(file)).toBe(true);
      expect(published).toContain(relative(ROOT, file).split("/")[0]);
    }
    expect(dirname(GUARD_SOURCE)).toBe(resolve(ROOT, "server-modules/ejabberd"));
  });

  it("Prosody: the guard's plugin path and the module on the Component, only when asked", () => {
    const on = prosody(true);
    expect(on).toContain(JSON.stringify(GUARD_PLUGIN_PATH));
    expect(on).toMatch(
      /Component "presence\.localhost"\n.*\n {2}modules_enabled = \{ "privilege", "presence_notify_guard" \}/,
    );
    expect(prosody(false)).not.toContain("presence_notify_guard");
  });

  it("ejabberd: the module with the component's domain, and its ebin on the code path", () => {
    expect(ejabberd(true)).toContain(
      '  mod_presence_notify_guard:\n    components: ["presence.localhost"]',
    );
    expect(ejabberd(false)).not.toContain("mod_presence_notify_guard");
    const cfg = renderEjabberdctlCfg({
      node: "n@localhost",
      distPort: 3,
      cookie: "c",
      pidPath: "/tmp/p",
      codePaths: ["/tmp/x/ebin"],
    });
    expect(cfg).toMatch(/^ERL_OPTIONS=".* -pa \/tmp\/x\/ebin"$/m);
  });
});
