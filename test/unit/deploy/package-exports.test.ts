import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyOfCheckout, type PackageCopy, ROOT } from "./package-copy.js";

// The package as a program that installed it sees it: the packed tarball
// unpacked into an app's node_modules/presence-notify, imported by name
// through package.json `exports`, by Node and by TypeScript.

const run = promisify(execFile);

const MAIN = [
  "ConfigError",
  "EX_CONFIG",
  "StoreError",
  "createLogger",
  "exitCodeOf",
  "isStoreError",
  "loadConfig",
  "openStore",
  "resolveConfig",
  "startDaemon",
];
const CONSUMER = ["canonicalNotification", "payloadPseudonym", "verifyNotification"];
const CLIENT = ["InvalidClientOptions", "createPresenceClient"];

describe("presence-notify imported by name from an installed tarball", () => {
  let copy: PackageCopy;
  let app: string;
  const node = async (script: string) =>
    (await run(process.execPath, ["--input-type=module", "-e", script], { cwd: app })).stdout;

  beforeAll(async () => {
    copy = await copyOfCheckout();
    await copy.npm(["run", "build", "--silent"]);
    const [packed] = JSON.parse(
      await copy.npm(["pack", "--json", "--ignore-scripts", "--pack-destination", copy.dir]),
    ) as { filename: string }[];
    // Under the copy, so the package's own dependencies resolve through the
    // copy's node_modules, as they would from the app's after `npm install`.
    app = join(copy.dir, "app");
    const installed = join(app, "node_modules/presence-notify");
    await mkdir(installed, { recursive: true });
    const tarball = join(copy.dir, packed?.filename ?? "");
    await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
  }, 120_000);

  afterAll(async () => {
    await copy?.remove();
  });

  it("exports the daemon and its configuration as the main entry", async () => {
    const keys = await node(
      'const m = await import("presence-notify"); console.log(JSON.stringify(Object.keys(m).sort()))',
    );
    expect(JSON.parse(keys)).toEqual(MAIN);
  });

  it("exports the consumer's functions from presence-notify/consumer", async () => {
    const script = [
      'const c = await import("presence-notify/consumer");',
      'const n = { trace: "t", to: "world@localhost", user: "a@localhost/r", presence: "available" };',
      "console.log(JSON.stringify({ keys: Object.keys(c).sort(), canonical: c.canonicalNotification(n) }));",
    ].join("\n");
    const out = JSON.parse(await node(script));
    expect(out.keys).toEqual(CONSUMER);
    expect(out.canonical).toBe(
      "presence-notify-v1\nt\nworld@localhost\na@localhost/r\navailable\n",
    );
  });

  it("exports the world server's client from presence-notify/client", async () => {
    const script = [
      'const c = await import("presence-notify/client");',
      "let refused;",
      'try { c.createPresenceClient({ service: "xmpp://127.0.0.1:1", jid: "world", password: "p", component: "presence.localhost" }) } catch (e) { refused = e.message }',
      "console.log(JSON.stringify({ keys: Object.keys(c).sort(), refused }));",
    ].join("\n");
    const out = JSON.parse(await node(script));
    expect(out.keys).toEqual(CLIENT);
    expect(out.refused).toMatch(/^jid must be the server user's bare JID/);
  });

  it("loads nothing but Node built-ins behind presence-notify/consumer", async () => {
    const seen = new Set<string>();
    const bare: string[] = [];
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = (await readFile(file, "utf8")).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      for (const [, spec = ""] of code.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        if (spec.startsWith(".")) await visit(resolve(dirname(file), spec));
        else if (!spec.startsWith("node:")) bare.push(spec);
      }
    };
    await visit(join(app, "node_modules/presence-notify/dist/consumer.js"));
    expect(seen.size).toBeGreaterThan(1);
    expect(bare).toEqual([]);
  });

  it("refuses deep imports of internals", async () => {
    const script =
      'try { await import("presence-notify/dist/app/daemon.js"); console.log("imported") } catch (e) { console.log(e.code) }';
    expect((await node(script)).trim()).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });

  /** `tsc --noEmit` of `source` in the app, as a strict NodeNext project would compile it. */
  const typecheck = async (name: string, source: string, skipLibCheck: boolean) => {
    await writeFile(join(app, `${name}.ts`), source);
    const compilerOptions = {
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      noEmit: true,
      skipLibCheck,
      types: ["node"],
      typeRoots: [join(ROOT, "node_modules/@types")],
    };
    const config = join(app, `tsconfig.${name}.json`);
    await writeFile(config, JSON.stringify({ compilerOptions, files: [`${name}.ts`] }));
    return run(join(ROOT, "node_modules/.bin/tsc"), ["-p", config], { cwd: app }).then(
      () => "",
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
  };

  it("gives TypeScript the consumer's types, with every declaration checked", async () => {
    const source = [
      'import { type Signature, verifyNotification } from "presence-notify/consumer";',
      'export const ok: boolean = verifyNotification({}, "world@localhost", new Map());',
      'export const sig: Signature = { kid: "k1", hmac: "" };',
      "",
    ].join("\n");
    expect(await typecheck("consumer", source, false)).toBe("");
  }, 60_000);

  // Its declarations name none of xmpp.js's (untyped) modules: they check as they are.
  it("gives TypeScript the client's types, with every declaration checked", async () => {
    const source = [
      'import { type PresenceChange, type PresenceClient, createPresenceClient } from "presence-notify/client";',
      "export const make = (password: string): PresenceClient =>",
      '  createPresenceClient({ service: "xmpp://127.0.0.1:5222", jid: "world@localhost", password, component: "presence.localhost" });',
      "export const users = (c: PresenceClient): string[] => [...c.online()];",
      'export const listen = (c: PresenceClient) => c.on("change", (x: PresenceChange) => x.presence === "available");',
      "",
    ].join("\n");
    expect(await typecheck("client", source, false)).toBe("");
  }, 60_000);

  // The main entry's declarations reach the daemon's internals, whose xmpp.js
  // types are this repository's own (src/types/, not shipped): with
  // skipLibCheck, as `tsc --init` sets it, they resolve; a misuse still fails.
  it("gives TypeScript the daemon's types through the exports map", async () => {
    const source = [
      'import { type DaemonConfig, loadConfig, startDaemon } from "presence-notify";',
      "export const start: typeof startDaemon = startDaemon;",
      "export const load: typeof loadConfig = loadConfig;",
      'export type Domain = DaemonConfig["component"]["domain"];',
      "",
    ].join("\n");
    expect(await typecheck("main", source, true)).toBe("");
    const misuse =
      'import { startDaemon } from "presence-notify";\nexport const n: number = startDaemon;\n';
    expect(await typecheck("misuse", misuse, true)).toMatch(/misuse\.ts.*TS2322/);
  }, 60_000);
});
