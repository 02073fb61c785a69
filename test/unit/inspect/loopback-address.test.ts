import { describe, expect, it } from "vitest";
import {
  InvalidInspectAddress,
  parseInspectAddress,
  urlOf,
} from "../../../src/inspect/loopback-address.js";

describe("--inspect[=HOST:PORT]", () => {
  it.each([
    ["", { host: "127.0.0.1", port: 8088 }],
    ["9000", { host: "127.0.0.1", port: 9000 }],
    [":9000", { host: "127.0.0.1", port: 9000 }],
    ["127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
    ["127.1.2.3:8088", { host: "127.1.2.3", port: 8088 }],
    ["localhost:8088", { host: "127.0.0.1", port: 8088 }],
    ["[::1]:8088", { host: "::1", port: 8088 }],
  ])("reads %j as a loopback address", (value, expected) => {
    expect(parseInspectAddress(value)).toEqual(expected);
  });

  it.each([
    ["0.0.0.0:8088", /0\.0\.0\.0 is not a loopback address/],
    ["192.168.1.5:8088", /not a loopback address.*SSH tunnel/],
    ["[::]:8088", /:: is not a loopback address/],
    ["example.com:8088", /example\.com is not a loopback address/],
    ["127.0.0.1", /expected HOST:PORT/],
    ["127.0.0.1:99999", /port must be 0-65535/],
    ["127.0.0.1:http", /expected HOST:PORT/],
  ])("refuses %j with a sentence", (value, message) => {
    expect(() => parseInspectAddress(value)).toThrow(InvalidInspectAddress);
    expect(() => parseInspectAddress(value)).toThrow(message);
  });

  it("writes URLs an IPv6 host can be reached at", () => {
    expect(urlOf("ws", { host: "::1", port: 8088 })).toBe("ws://[::1]:8088");
    expect(urlOf("http", { host: "127.0.0.1", port: 1 })).toBe("http://127.0.0.1:1");
  });
});
