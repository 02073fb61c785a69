import { type Component, component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import type { PresenceStages } from "../../src/telemetry/presence-stages.js";
import { bypassMiddleware } from "../../src/xmpp/component-link.js";
import {
  DEFAULT_LIMITS,
  guardStream,
  type RefusedStanza,
  type StreamLimits,
} from "../../src/xmpp/stream-guard.js";

const STREAM_HEADER =
  "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='wire-test' from='presence.localhost'>";

interface ConnectionInternals {
  Parser: new () => unknown;
  _attachParser(parser: unknown): void;
  _onData(data: Buffer): void;
}

/**
 * The component's real read path without a socket: bytes go into a real
 * `@xmpp/component` entity (its `_onData`, as a socket "data" event would
 * call it) with the stream guard installed and presences past the library's
 * middleware, as ComponentLink sets it up, after the server's stream header.
 * What comes out is what the daemon's stanza handlers would see.
 */
export function wireReader(
  limits: StreamLimits = DEFAULT_LIMITS,
  /** Told of each refused stanza at once, in stream order, as ComponentLink is. */
  onRefused?: (refused: RefusedStanza) => void,
  /** Told of each presence's read, parse and route times, as ComponentLink's are. */
  stages?: PresenceStages,
) {
  const entity: Component = component({
    service: "xmpp://127.0.0.1:1",
    domain: "presence.localhost",
    password: "unused",
  });
  entity.reconnect.stop();
  bypassMiddleware(entity);
  const stanzas: Element[] = [];
  const refused: RefusedStanza[] = [];
  const overflows: number[] = [];
  const errors: Error[] = [];
  guardStream(
    entity,
    {
      onRefused: (r) => {
        refused.push(r);
        onRefused?.(r);
      },
      onOverflow: (n) => overflows.push(n),
      ...(stages ? { stages } : {}),
    },
    limits,
  );
  const connection = entity as unknown as ConnectionInternals;
  connection._attachParser(new connection.Parser());
  entity.on("stanza", (el: Element) => stanzas.push(el));
  // Replies the library would send (an IQ error) fail without a socket: that is fine here.
  entity.on("error", (err: Error) => errors.push(err));
  connection._onData(Buffer.from(STREAM_HEADER));
  return {
    entity,
    stanzas,
    refused,
    overflows,
    errors,
    write(chunk: Buffer | string): void {
      connection._onData(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    },
  };
}
