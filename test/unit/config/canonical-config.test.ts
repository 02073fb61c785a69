import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../../src/config/load.js";
import { failure } from "../../support/config-failure.js";

// Issue #14, item 4: a server user given with capitals was accepted, but the
// server folds case: its own sessions were notified to itself, held mail
// never released, every receipt unmatched. The configuration must name the
// server user (and the localpart globs) as the server compares them.

const PATH = "/etc/presence-notify/presence-notify.toml";
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
};
const resolve = (text: string, env: Record<string, string> = {}) =>
  resolveConfig({
    text: `[component]\nsecret = "s3cret"\n${text}`,
    path: PATH,
    env,
    readFile: noFiles,
  });

describe("a server user or glob not in canonical form is refused, naming the spelling to use", () => {
  it.each([
    [
      "server_user in the file",
      '[notify]\nserver_user = "World"',
      {},
      /notify\.server_user from file \S+ .*"world"/,
    ],
    [
      "WORLD_SERVER_USERNAME",
      "",
      { WORLD_SERVER_USERNAME: "World" },
      /notify\.server_user from env WORLD_SERVER_USERNAME .*"world"/,
    ],
    [
      "PRESENCE_NOTIFY_NOTIFY_SERVER_USER",
      "",
      { PRESENCE_NOTIFY_NOTIFY_SERVER_USER: "WORLD" },
      /notify\.server_user from env PRESENCE_NOTIFY_NOTIFY_SERVER_USER .*"world"/,
    ],
    ["an include glob", '[notify]\ninclude = ["Flux.*"]', {}, /notify\.include\[0\] .*"flux\.\*"/],
    ["an exclude glob", '[notify]\nexclude = ["BOT*"]', {}, /notify\.exclude\[0\] .*"bot\*"/],
  ])("%s with capitals", (_what, text, env, pattern) => {
    const err = failure(() => resolve(text, env));
    expect(err.message).toMatch(pattern);
    expect(err.message).toMatch(/case/);
  });

  it("accepts the canonical spelling", () => {
    const { config } = resolve('[notify]\nserver_user = "world"\ninclude = ["flux.*"]');
    expect(config.notify.serverUser).toBe("world");
  });
});
