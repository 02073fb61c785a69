import { describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/describe.js";
import { ConfigError } from "../../../src/config/errors.js";
import { isLoopback, parseListen } from "../../../src/config/listen.js";
import { resolveConfig } from "../../../src/config/load.js";
import { failure } from "../../support/config-failure.js";

// [admin]: where the admin HTTP listener binds, its bearer token (handled like
// component.secret) and the dashboard's pseudonymisation.

const PATH = "/etc/presence-notify/presence-notify.toml";
const BASE = '[component]\nsecret = "s3cret"\n';

function load(admin: string, env: Record<string, string> = {}, files: Record<string, string> = {}) {
  return resolveConfig({
    text: `${BASE}[admin]\n${admin}\n`,
    path: PATH,
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(path), { code: "ENOENT" });
      return text;
    },
  });
}

describe("admin.listen", () => {
  it("listens on loopback port 9464 by default, and can be turned off", () => {
    const { config, sources } = load("");
    expect(config.admin).toEqual({
      listen: { host: "127.0.0.1", port: 9464 },
      token: undefined,
      pseudonymise: false,
    });
    expect(load('listen = "off"').config.admin.listen).toBeUndefined();
    expect(sources["admin.listen"]).toBe("default");
    expect(sources["admin.token"]).toBe("default");
  });

  it("takes host:port, port 0 included, and IPv6 in brackets", () => {
    expect(load('listen = "127.0.0.1:0"').config.admin.listen).toEqual({
      host: "127.0.0.1",
      port: 0,
    });
    expect(load('listen = "[::1]:9464"').config.admin.listen).toEqual({ host: "::1", port: 9464 });
    expect(
      load("", { PRESENCE_NOTIFY_ADMIN_LISTEN: "localhost:9464" }).config.admin.listen,
    ).toEqual({ host: "localhost", port: 9464 });
  });

  it.each([
    ["9464", /admin\.listen from file \S+ must be "host:port"/],
    ["127.0.0.1:70000", /port 70000/],
    ["[12:34]:1", /not an IPv6 address/],
  ])("refuses %j with a sentence", (value, message) => {
    const err = failure(() => load(`listen = "${value}"`));
    expect(err.key).toBe("admin.listen");
    expect(err.message).toMatch(message);
  });

  it("refuses a non-loopback address without a token", () => {
    const err = failure(() => load('listen = "0.0.0.0:9464"'));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.key).toBe("admin.token");
    expect(err.message).toMatch(
      /admin\.listen \("0\.0\.0\.0:9464", from file \S+\) is not a loopback address, and admin\.token is not set/,
    );
  });

  it("accepts a non-loopback address with a token", () => {
    const { config } = load('listen = "0.0.0.0:9464"\ntoken = "abc"');
    expect(config.admin.token?.value()).toBe("abc");
  });

  it("knows loopback from the rest", () => {
    for (const host of ["127.0.0.1", "127.9.9.9", "::1", "localhost", "::ffff:127.0.0.1"]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "example.com", "128.0.0.1"]) {
      expect(isLoopback(host), host).toBe(false);
    }
    expect(parseListen("off")).toEqual({ ok: true, address: undefined });
  });
});

describe("admin.token", () => {
  it("comes from token_file, relative to the file, without its line break", () => {
    const { config, sources } = load(
      'token_file = "admin-token"',
      {},
      {
        "/etc/presence-notify/admin-token": "from-file\n",
      },
    );
    expect(config.admin.token?.value()).toBe("from-file");
    expect(sources["admin.token"]).toBe("token_file /etc/presence-notify/admin-token");
  });

  it("comes from the environment, over the file", () => {
    const { config, sources } = load('token = "file"', { PRESENCE_NOTIFY_ADMIN_TOKEN: "env" });
    expect(config.admin.token?.value()).toBe("env");
    expect(sources["admin.token"]).toBe("env PRESENCE_NOTIFY_ADMIN_TOKEN");
  });

  it.each([
    [
      'token = "a"\ntoken_file = "b"',
      /admin\.token is given twice in file \S+, by token and by token_file/,
    ],
    [
      'token_file = "/nope"',
      /admin\.token_file from file \S+ names \/nope, which cannot be read: no such file/,
    ],
    ['token = ""', /admin\.token from file \S+ is empty/],
    ['token = "has space"', /must be printable ASCII without spaces/],
  ])("refuses %j without quoting the token", (admin, message) => {
    const err = failure(() => load(admin));
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain("has space");
  });

  it("prints as [redacted] in check-config, and (none) when not set", () => {
    const text = describeConfig(load('listen = "127.0.0.1:9464"\ntoken = "SUPER-SECRET"'));
    expect(text).not.toContain("SUPER-SECRET");
    expect(text).toMatch(/^admin\.token += \[redacted\] +\(file\)$/m);
    expect(text).toMatch(/^admin\.listen += "127\.0\.0\.1:9464" +\(file\)$/m);
    expect(describeConfig(load(""))).toMatch(/^admin\.token += \(none\) +\(default\)$/m);
    expect(JSON.stringify(load('token = "SUPER-SECRET"').config)).not.toContain("SUPER-SECRET");
  });
});

describe("admin.pseudonymise", () => {
  it("is a flag, from the file or the environment", () => {
    expect(load("pseudonymise = true").config.admin.pseudonymise).toBe(true);
    expect(load("", { PRESENCE_NOTIFY_ADMIN_PSEUDONYMISE: "true" }).config.admin.pseudonymise).toBe(
      true,
    );
    expect(failure(() => load('pseudonymise = "yes"')).message).toMatch(
      /admin\.pseudonymise from file \S+ must be true or false, not a string/,
    );
    expect(failure(() => load("", { PRESENCE_NOTIFY_ADMIN_PSEUDONYMISE: "yes" })).message).toMatch(
      /must be true or false; got "yes"/,
    );
  });
});
