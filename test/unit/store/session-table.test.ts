import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../../src/store/open.js";
import { tempDir } from "./temp-store.js";

describe("SessionTable", () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it("loads the available sessions of the previous run after a reopen", () => {
    const path = tmp.file();
    const first = openStore(path);
    first.sessions.available("bob@example.com/laptop");
    first.sessions.available("alice@example.com/phone");
    first.sessions.available("alice@example.com/phone"); // idempotent
    first.sessions.available("carol@example.org/é <&>");
    first.sessions.gone("bob@example.com/laptop");
    first.sessions.gone("nobody@example.com/x"); // idempotent
    expect(first.sessions.size).toBe(2);
    first.close();

    const second = openStore(path);
    expect(second.sessions.load()).toEqual(["alice@example.com/phone", "carol@example.org/é <&>"]);
    second.close();
  });

  it("is empty in a new file", () => {
    const store = openStore(tmp.file());
    expect(store.sessions.load()).toEqual([]);
    expect(store.sessions.size).toBe(0);
    store.close();
  });
});
