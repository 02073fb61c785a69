import { describe, expect, it } from "vitest";
import { domainProblem, parseService } from "../../../src/config/host.js";

describe("component.service addresses", () => {
  it.each([
    ["xmpp://127.0.0.1:5347", "127.0.0.1", 5347],
    ["tcp://xmpp.internal:5275", "xmpp.internal", 5275],
    ["xmpp://localhost:1", "localhost", 1],
    ["xmpp://[::1]:5347", "[::1]", 5347],
    ["xmpp://XMPP.Example.com:65535", "XMPP.Example.com", 65535],
  ])("parses %s", (text, host, port) => {
    const parsed = parseService(text);
    expect(parsed.ok && parsed.address).toMatchObject({ host, port });
  });

  it.each([
    ["127.0.0.1:5347", /must be "xmpp:\/\/host:port"/],
    ["xmpp://127.0.0.1", /must be "xmpp:\/\/host:port"/],
    ["xmpps://h:1", /must be/],
    ["xmpp://h:1/path", /must be/],
    ["xmpp://user@h:1", /must be/],
    ["xmpp://h:0", /port 0/],
    ["xmpp://h:65536", /port 65536/],
    ["xmpp://256.0.0.1:1", /not a valid IPv4 address/],
    ["xmpp://-bad-:1", /not a host name/],
  ])("refuses %s", (text, reason) => {
    const parsed = parseService(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe("domains", () => {
  it.each([["localhost"], ["presence.example.com"], ["a-b.c1"], ["münchen.de"]])(
    "accepts %s",
    (d) => {
      expect(domainProblem(d)).toBeUndefined();
    },
  );

  it.each([
    ["", /empty/],
    ["Example.com", /upper-case.*"example\.com"/],
    ["a..b", /empty label/],
    ["example.com.", /empty label/],
    ["-a.com", /label "-a"/],
    ["a_b.com", /label "a_b"/],
    [`${"a".repeat(64)}.com`, /at most 63/],
    [`${"a.".repeat(127)}ab`, /the limit is 253/],
    ["a b", /label "a b"/],
  ])("refuses %j", (d, reason) => {
    expect(domainProblem(d)).toMatch(reason);
  });
});
