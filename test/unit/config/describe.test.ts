import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/describe.js";
import { resolveConfig } from "../../../src/config/load.js";

const PATH = "/etc/presence-notify/presence-notify.toml";

function load(text: string, env: Record<string, string> = {}) {
  return resolveConfig({ text, path: PATH, env, readFile: () => "from-secret-file\n" });
}

describe("describeConfig", () => {
  it("prints every key with its value as in the file and its source", () => {
    const text = describeConfig(
      load(
        '[component]\nsecret_file = "/run/secret"\n[notify]\nserver_user = "world"\ninclude = ["flux.actor.*", "flux.sim.*"]\n',
        { PRESENCE_NOTIFY_RECONNECT_MAX: "1m", WORLD_SERVER_USERNAME: "ignored" },
      ),
    );
    const lines = text.split("\n");
    expect(lines).toHaveLength(29);
    expect(lines).toContainEqual(
      expect.stringMatching(/^notify\.server_user +=\s"world" +\(file\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^notify\.include +=\s\["flux\.actor\.\*", "flux\.sim\.\*"\] +\(file\)$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^component\.secret +=\s\[redacted\] +\(secret_file \/run\/secret\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^reconnect\.max +=\s"1m" +\(env PRESENCE_NOTIFY_RECONNECT_MAX\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^reconnect\.initial +=\s"500ms" +\(default\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^mailbox\.capacity +=\s100000 +\(default\)$/),
    );
    expect(text).not.toContain("from-secret-file");
  });

  it("never prints the secret, whatever it is (property)", () => {
    const secret = fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => !/\p{Cc}/u.test(s))
      .map((s) => `S3CRET-${s}`);
    fc.assert(
      fc.property(secret, (value) => {
        const loaded = load("", { PRESENCE_NOTIFY_COMPONENT_SECRET: value });
        const text = describeConfig(loaded);
        expect(text).not.toContain(value);
        expect(text).toMatch(
          /component\.secret += \[redacted\] +\(env PRESENCE_NOTIFY_COMPONENT_SECRET\)/,
        );
        expect(JSON.stringify(loaded)).not.toContain(value);
      }),
      { numRuns: 200 },
    );
  });
});
