import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseMongooseImEvent } from "../../../src/sources/mongooseim-event.js";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("MongooseIM's mod_event_pusher presence event", () => {
  it("reads the exact format MongooseIM publishes", () => {
    expect(
      parseMongooseImEvent(bytes('{"user_id":"alice@localhost/res1","present":true}')),
    ).toEqual({
      ok: true,
      jid: {
        full: "alice@localhost/res1",
        bare: "alice@localhost",
        local: "alice",
        domain: "localhost",
        resource: "res1",
      },
      event: { type: "presence.available" },
    });
    expect(
      parseMongooseImEvent(bytes('{"user_id":"alice@localhost/res1","present":false}')),
    ).toMatchObject({ ok: true, event: { type: "presence.unavailable", cause: "server" } });
  });

  it("ignores keys a newer MongooseIM adds", () => {
    const parsed = parseMongooseImEvent(
      bytes('{"user_id":"a@b/c","present":true,"timestamp":17,"host":"b","extra":{"x":[1]}}'),
    );
    expect(parsed).toMatchObject({ ok: true, jid: { full: "a@b/c" } });
  });

  it.each([
    ["not JSON", "{user_id: a@b/c}", "not JSON"],
    ["an array", '[{"user_id":"a@b/c","present":true}]', "not a JSON object"],
    ["null", "null", "not a JSON object"],
    ["a string", '"a@b/c"', "not a JSON object"],
    ["user_id missing", '{"present":true}', "user_id is not a string"],
    ["present missing", '{"user_id":"a@b/c"}', "present is not true or false"],
    ["present as text", '{"user_id":"a@b/c","present":"true"}', "present is not true or false"],
    ["a bare JID", '{"user_id":"a@b","present":true}', "user_id: it has no resource"],
    ["no localpart", '{"user_id":"b/c","present":true}', "user_id: it has no localpart"],
    ["an empty resource", '{"user_id":"a@b/","present":true}', "user_id: its resource is empty"],
    ["a control character", '{"user_id":"a@b/c\\u0000","present":true}', "control character"],
    ["a lone surrogate", '{"user_id":"a@b/\\ud800","present":true}', "well-formed"],
  ])("refuses %s with a reason", (_name, text, reason) => {
    const parsed = parseMongooseImEvent(bytes(text));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  it("refuses bytes that are not UTF-8 and oversized messages", () => {
    expect(parseMongooseImEvent(Buffer.from([0x7b, 0xff, 0x7d]))).toMatchObject({
      ok: false,
      reason: "not UTF-8",
    });
    const big = `{"user_id":"a@b/${"x".repeat(20_000)}","present":true}`;
    expect(parseMongooseImEvent(bytes(big))).toMatchObject({ ok: false });
  });

  it("never throws, whatever the bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (content) => {
        expect(() => parseMongooseImEvent(content)).not.toThrow();
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(() => parseMongooseImEvent(bytes(JSON.stringify(value) ?? ""))).not.toThrow();
      }),
    );
  });
});
