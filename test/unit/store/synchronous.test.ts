import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../../src/config/load.js";
import { openStore } from "../../../src/store/open.js";
import { tempDir } from "./temp-store.js";

// durability.synchronous: SQLite's PRAGMA synchronous is the connection's,
// not the file's, so it is read back on the store's own connection
// (info()): 1 is NORMAL, 2 is FULL.

function configured(line: string) {
  const text = ["[component]", 'secret = "s3cret"', "[durability]", line].join("\n");
  return resolveConfig({ text, path: "/etc/p.toml", env: {}, readFile: () => "" }).config.durability
    .synchronous;
}

describe("durability.synchronous", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('"full" opens the store with synchronous = FULL, and commits go through', () => {
    const store = openStore(tmp.file(), { synchronous: configured('synchronous = "full"') });
    store.transaction(() => store.sessions.available("u@example.com/r"));
    expect(store.info().synchronous).toBe(2);
    expect(store.info().journalMode).toBe("wal");
    expect(store.info().sessions).toBe(1);
    store.close();
  });

  it('"normal", the default, opens it with synchronous = NORMAL', () => {
    expect(configured("")).toBe("normal");
    const store = openStore(tmp.file(), { synchronous: configured("") });
    expect(store.info().synchronous).toBe(1);
    store.close();
  });

  it("is refused with a sentence for any other value", () => {
    expect(() => configured('synchronous = "extra"')).toThrow(
      'durability.synchronous from file /etc/p.toml must be "normal" or "full"; got "extra"',
    );
  });
});
