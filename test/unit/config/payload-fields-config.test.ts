import { describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/describe.js";
import { resolveConfig } from "../../../src/config/load.js";
import { failure } from "../../support/config-failure.js";

// [notify] fields and level: checked like every key, each bad value refused
// with a sentence naming the key and where it came from (the CLI exits 78).

const resolve = (lines: string[], env: Record<string, string> = {}) =>
  resolveConfig({
    text: ['[component]\nsecret = "s3cret"', "[notify]", ...lines].join("\n"),
    path: "/etc/presence-notify.toml",
    env,
    readFile: () => "",
  });

describe("[notify] fields and level", () => {
  it("default to none and per session, and check-config shows them", () => {
    const resolved = resolve([]);
    expect(resolved.config.notify).toMatchObject({ fields: [], level: "session" });
    const lines = describeConfig(resolved).split("\n");
    expect(lines.find((l) => l.startsWith("notify.fields "))).toMatch(/= \[\] +\(default\)$/);
    expect(lines.find((l) => l.startsWith("notify.level "))).toMatch(/= "session" +\(default\)$/);
  });

  it("come from the file or the environment", () => {
    expect(resolve(['fields = ["reason", "ts"]', 'level = "user"']).config.notify).toMatchObject({
      fields: ["reason", "ts"],
      level: "user",
    });
    const env = { PRESENCE_NOTIFY_NOTIFY_FIELDS: "ts", PRESENCE_NOTIFY_NOTIFY_LEVEL: "user" };
    expect(resolve([], env).config.notify).toMatchObject({ fields: ["ts"], level: "user" });
  });

  it.each([
    [
      'fields = ["ts", "when"]',
      /^notify\.fields\[1\] from file \S+ must be "ts" or "reason"; got "when"$/,
    ],
    [
      'fields = ["ts", "ts"]',
      /^notify\.fields from file \S+ names "ts" twice; name each field once$/,
    ],
    ['level = "users"', /^notify\.level from file \S+ must be "session" or "user"; got "users"$/],
  ])("refuse %s with a sentence", (line, sentence) => {
    const err = failure(() => resolve([line]));
    expect(err.message).toMatch(sentence);
  });
});
