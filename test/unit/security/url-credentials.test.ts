import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/describe.js";
import { resolveConfig } from "../../../src/config/load.js";
import { describeChanges, planReload } from "../../../src/config/reload.js";
import { ejabberdSessionList } from "../../../src/xmpp/session-list.js";

// Issue #14, item 9: a credential inside a URL (resync.ejabberd_api with
// user:pass@) is never shown: not by check-config, not in a reload's log
// line, not in the error of a failed session list (which is logged).

const load = (text: string) =>
  resolveConfig({
    text: `[component]\nsecret = "component-secret"\n${text}`,
    path: "/etc/p.toml",
    env: {},
    readFile: () => "",
  });

const API = (port: number) => `http://admin:S3cr%40t@127.0.0.1:${port}/api`;

describe("resync.ejabberd_api with credentials", () => {
  it("shows in check-config without its password", () => {
    const text = describeConfig(load(`[resync]\nejabberd_api = "${API(5281)}"\n`));
    expect(text).not.toContain("S3cr");
    expect(text).toMatch(
      /resync\.ejabberd_api += "http:\/\/admin:\[redacted\]@127\.0\.0\.1:5281\/api" +\(file\)/,
    );
  });

  it("shows in a reload's changes without its password", () => {
    const before = load("").config;
    const after = load(`[resync]\nejabberd_api = "${API(5281)}"\n`).config;
    const { restartOnly } = planReload(before, after);
    const text = JSON.stringify(describeChanges(restartOnly));
    expect(text).toContain("resync.ejabberd_api");
    expect(text).not.toContain("S3cr");
  });
});

describe("the ejabberd session list", () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  async function serve(status: number, body: string) {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    close = () => server.close();
    return { port: (server.address() as AddressInfo).port, seen };
  }

  it("sends the URL's credentials as Basic authorization (fetch refuses them in a URL)", async () => {
    const { port, seen } = await serve(200, '[{"jid":"alice@localhost/phone","status":"away"}]');
    expect(await ejabberdSessionList(API(port), 2_000)()).toEqual([
      { jid: "alice@localhost/phone", show: "away" },
    ]);
    expect(seen).toEqual([`Basic ${Buffer.from("admin:S3cr@t").toString("base64")}`]);
  });

  it("never puts the password in its error (which is logged)", async () => {
    const { port } = await serve(500, '{"error":"boom"}');
    const failure = await ejabberdSessionList(API(port), 2_000)().then(
      () => "no error",
      (err: Error) => `${err.message} ${String(err.cause ?? "")}`,
    );
    expect(failure).toMatch(/HTTP 500/);
    expect(failure).not.toContain("S3cr");
  });
});
