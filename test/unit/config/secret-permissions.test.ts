import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { exposedSecrets } from "../../../src/config/secret-permissions.js";

// A secret in a file every user of the host can read is warned about.

describe("secret file permissions", () => {
  const dir = mkdtempSync(join(tmpdir(), "pn-perm-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const setUp = (name: string, config: string, secretMode: number, configMode = 0o600) => {
    const secret = join(dir, `${name}.secret`);
    writeFileSync(secret, "s3cret-0123456789abcdef0123456789abcdef\n");
    chmodSync(secret, secretMode);
    const path = join(dir, `${name}.toml`);
    writeFileSync(path, config.replaceAll("SECRET", secret));
    chmodSync(path, configMode);
    return loadConfig({ path, env: {} });
  };

  it("warns about a secret_file others can read, naming the key, the file and its mode", () => {
    const loaded = setUp("open", '[component]\nsecret_file = "SECRET"\n', 0o644);
    const [exposed, ...rest] = exposedSecrets(loaded);
    expect(rest).toEqual([]);
    expect(exposed).toMatchObject({ key: "component.secret", mode: "0644" });
    expect(exposed?.message).toMatch(
      /^component\.secret comes from \S+open\.secret, which any user of this host can read \(mode 0644\): chmod 600 it/,
    );
  });

  it("is quiet for 0600 and 0640", () => {
    expect(exposedSecrets(setUp("owner", '[component]\nsecret_file = "SECRET"\n', 0o600))).toEqual(
      [],
    );
    expect(exposedSecrets(setUp("group", '[component]\nsecret_file = "SECRET"\n', 0o640))).toEqual(
      [],
    );
  });

  it("checks the configuration file itself when a secret is inline", () => {
    const loaded = setUp("inline", '[component]\nsecret = "s3cret"\n', 0o600, 0o644);
    expect(exposedSecrets(loaded).map((e) => e.key)).toEqual(["component.secret"]);
  });

  it("checks the admin token and the signing key files too", () => {
    const loaded = setUp(
      "all",
      '[component]\nsecret = "s3cret"\n[admin]\ntoken_file = "SECRET"\n[signing]\nkey_file = "SECRET"\n',
      0o604,
    );
    expect(exposedSecrets(loaded).map((e) => e.key)).toEqual(["admin.token", "signing.key"]);
  });
});
