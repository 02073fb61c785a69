import { component } from "@xmpp/component";
import { describe, expect, it } from "vitest";
import { guardStream } from "../../../src/xmpp/stream-guard.js";

// The socket's "data" listener is where every byte from the server enters;
// a throw out of it is an uncaught exception, the end of the process.

interface ConnectionInternals {
  Parser: new () => unknown;
  _attachParser(parser: unknown): void;
  _onData(data: Buffer): void;
}

describe("a throw while reading the stream", () => {
  it("is reported to the link (which closes the connection) instead of escaping the socket's data handler", () => {
    const entity = component({
      service: "xmpp://127.0.0.1:1",
      domain: "presence.localhost",
      password: "unused",
    });
    entity.reconnect.stop();
    const failures: unknown[] = [];
    guardStream(entity, {
      onRefused: () => {},
      onOverflow: () => {},
      onFailure: (err) => failures.push(err),
    });
    const connection = entity as unknown as ConnectionInternals;
    connection._attachParser(new connection.Parser());
    // Anything listening to what is read (a debug tap, the stream header's handling) may throw.
    entity.on("input", () => {
      throw new Error("a listener failed");
    });
    expect(() =>
      connection._onData(Buffer.from("<stream:stream xmlns='jabber:component:accept'>")),
    ).not.toThrow();
    expect(failures.map((e) => (e as Error).message)).toEqual(["a listener failed"]);
  });
});
