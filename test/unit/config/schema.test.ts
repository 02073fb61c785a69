import { Schema } from "effect";
import { describe, expect, it } from "vitest";
import { describeConfig } from "../../../src/config/describe.js";
import { resolveConfig } from "../../../src/config/load.js";
import { LIVE_KEYS } from "../../../src/config/reload.js";
import { ConfigSchema, DEFAULTS } from "../../../src/config/schema.js";
import {
  requireAnnotated,
  type SettingAnnotations,
  section,
  setting,
  settingsOf,
} from "../../../src/config/setting.js";

// The schema is the one source of the configuration: every key must carry
// what the loader, the environment, the reload and check-config read from
// it. The keys come from walking the schema, never from a list kept here.

const keys = settingsOf(ConfigSchema);
const PATH = "/etc/presence-notify/presence-notify.toml";

function load(env: Record<string, string>) {
  return resolveConfig({ text: "", path: PATH, env, readFile: () => "" });
}

describe("the configuration schema", () => {
  it("has keys, nested tables included", () => {
    expect(keys.length).toBeGreaterThan(30);
    expect(keys.map((k) => k.key)).toContain("source.rabbitmq.url");
  });

  it.each(keys.map((k) => [k.key, k] as const))(
    "%s has its default (or is a secret), its variable and its description",
    (key, entry) => {
      expect(entry.annotations, `${key} is written without setting()`).toBeDefined();
      const a = entry.annotations as SettingAnnotations;
      // The convention README and the example file promise.
      expect(a.env).toBe(`PRESENCE_NOTIFY_${key.replaceAll(".", "_").toUpperCase()}`);
      expect(a.description.length).toBeGreaterThan(10);
      if (a.secret === undefined) expect(a.default).toBeDefined();
      else expect(a.default).toBeUndefined();
      expect([undefined, true]).toContain(a.live);
    },
  );

  it("names every variable once", () => {
    const names = keys.map((k) => k.annotations?.env);
    expect(new Set(names).size).toBe(names.length);
  });

  it("decodes every default, each reported as the default", () => {
    const { sources } = load({ PRESENCE_NOTIFY_COMPONENT_SECRET: "s3cret" });
    for (const { key, annotations } of keys) {
      const expected = key === "component.secret" ? `env ${annotations?.env}` : "default";
      expect(sources[key as keyof typeof sources], key).toBe(expected);
    }
    expect(Object.keys(DEFAULTS).length).toBe(keys.filter((k) => !k.annotations?.secret).length);
  });

  it("takes every key from its variable", () => {
    const env: Record<string, string> = { PRESENCE_NOTIFY_COMPONENT_SECRET: "s3cret" };
    for (const { annotations } of keys) {
      const value = annotations?.default;
      if (value === undefined) continue;
      env[annotations?.env ?? ""] = Array.isArray(value) ? value.join(",") : String(value);
    }
    const { sources } = load(env);
    for (const { key, annotations } of keys) {
      if (annotations?.secret && key !== "component.secret") continue;
      expect(sources[key as keyof typeof sources], key).toBe(`env ${annotations?.env}`);
    }
  });

  it("check-config prints one line for every key, in the schema's order", () => {
    const lines = describeConfig(load({ PRESENCE_NOTIFY_COMPONENT_SECRET: "s3cret" })).split("\n");
    expect(lines.map((line) => line.split(" ")[0])).toEqual(keys.map((k) => k.key));
  });

  it("reloads live exactly the keys annotated live", () => {
    expect([...LIVE_KEYS].sort()).toEqual(
      keys
        .filter((k) => k.annotations?.live === true)
        .map((k) => k.key)
        .sort(),
    );
  });

  it("refuses a key written without setting(), naming it", () => {
    const schema = Schema.Struct({
      notify: section({
        batch: setting(Schema.Number, {
          env: "PRESENCE_NOTIFY_NOTIFY_BATCH",
          default: 1,
          description: "A key written as it should be.",
        }),
        forgotten: Schema.String,
      }),
    });
    expect(() => requireAnnotated(settingsOf(schema))).toThrow(
      /key notify\.forgotten has no setting\(\) annotations/,
    );
  });
});
