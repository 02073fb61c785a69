import { StringDecoder } from "node:string_decoder";
import type { Component } from "@xmpp/component";
import xml from "@xmpp/xml";
import type { PresenceStages } from "../telemetry/presence-stages.js";

/**
 * What the component reads off its socket, made safe before any stanza
 * handler sees it.
 *
 * 1. UTF-8 split across reads. `@xmpp/connection` decodes each TCP chunk on
 *    its own (`data.toString("utf8")`), so a multi-byte character cut by a
 *    chunk boundary becomes two U+FFFD and a non-ASCII JID arrives altered.
 *    A `StringDecoder` per connection keeps the partial bytes for the next
 *    read instead.
 * 2. Oversized or deeply nested stanzas. Users control much of what the
 *    server forwards (resources, status text, extension elements); a stanza
 *    over `maxBytes` (names, attribute values and text, UTF-8) or nested
 *    deeper than `maxDepth` is not built: the parser drops its elements as
 *    they come, so memory stays bounded, and reports it through `onRefused`
 *    once it ends. The stream goes on; the next stanza is parsed normally.
 *    Bytes can still pile up inside one unfinished tag (the tokenizer keeps
 *    a tag whole until its `>`), so past `maxPendingBytes` read without any
 *    stanza ending, the connection is closed: no server sends that.
 * 3. Stanzas the library chokes on. `@xmpp/middleware` parses every iq's
 *    and message's `from` and `to` with `@xmpp/jid` (presences
 *    and IQ requests skip it: `bypassMiddleware`), which throws on a malformed
 *    one ("u@/r"), from inside the socket's "data" handler: the process
 *    would die of an uncaught exception. A throw out of the stanza's
 *    listeners is caught where the parser hands the stanza over, and the
 *    stanza is refused like an oversized one; the stream reads on.
 */
export interface StreamLimits {
  maxBytes: number;
  maxDepth: number;
  maxPendingBytes: number;
}

/** Prosody's own default limit for client stanzas (c2s_stanza_size_limit). */
export const DEFAULT_LIMITS: StreamLimits = {
  maxBytes: 256 * 1024,
  maxDepth: 32,
  maxPendingBytes: 1024 * 1024,
};

export interface RefusedStanza {
  name: string;
  from: string | undefined;
  /**
   * The stanza's own `type`, `to` and `xmlns` (its start tag, which was read
   * whole): a presence's availability is in them (RFC 6121 4.7.1), so a
   * refused presence can still count as one, without its children.
   */
  type?: string | undefined;
  to?: string | undefined;
  xmlns?: string | undefined;
  reason: string;
}

type Top = Omit<RefusedStanza, "reason">;

interface Guarded {
  onRefused(refused: RefusedStanza): void;
  /** Bytes piled up with no stanza ending: close the connection. */
  onOverflow(pendingBytes: number): void;
  /**
   * Reading threw outside any one stanza (the stream header's handling, an
   * "input" listener): the parser's state is unknown, so close the
   * connection; the reconnect and its resync restore the truth.
   */
  onFailure?(err: unknown): void;
  /** Told of each presence's read, parse and route times (src/telemetry/presence-stages.ts). */
  stages?: PresenceStages;
}

type Attrs = Record<string, string | undefined>;

// @xmpp/xml is CommonJS: Node's ESM loader gives its exports as the default.
const { Parser } = xml;

// @xmpp/xml's Parser builds the tree in these three callbacks (not in its
// typings: it is plain JavaScript).
interface ParserInternals {
  root: unknown;
  cursor: unknown;
  onStartElement(name: string, attrs: Attrs): void;
  onEndElement(name: string): void;
  onText(text: string): void;
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

function attrsBytes(attrs: Attrs): number {
  let n = 0;
  for (const key in attrs) n += key.length + bytes(attrs[key] ?? "");
  return n;
}

/** A Parser class for one connection, reporting to `guarded`; `readAt`: when the current read came. */
function guardedParser(
  limits: StreamLimits,
  guarded: Pick<Guarded, "onRefused" | "stages">,
  readAt: () => number,
) {
  const base = Parser.prototype as unknown as ParserInternals;
  const { stages } = guarded;
  return class GuardedParser extends Parser {
    /** 0 outside the stream, 1 inside it, 2 inside a stanza, ... */
    private depth = 0;
    private size = 0;
    private refused: RefusedStanza | undefined;
    private top: Top | undefined;
    // A presence being timed: the read its start tag came in, and that tag's time.
    private timed: { readAt: number; startAt: number } | undefined;

    onStartElement(name: string, attrs: Attrs): void {
      this.depth++;
      if (this.depth === 2) {
        this.size = 0;
        this.refused = undefined;
        this.top = { name, from: attrs.from, type: attrs.type, to: attrs.to, xmlns: attrs.xmlns };
        this.timed =
          stages && name === "presence" ? { readAt: readAt(), startAt: stages.now() } : undefined;
      }
      if (this.depth >= 2 && this.refused === undefined) {
        this.size += name.length + attrsBytes(attrs);
        this.check();
      }
      if (this.refused === undefined) base.onStartElement.call(this, name, attrs);
    }

    onText(text: string): void {
      // The stream's own text between stanzas (whitespace keepalives, RFC
      // 6120 section 4.6.1) means nothing; the library would append it to
      // the stream's root element, kept for the connection's whole life,
      // each piece a slice keeping its whole socket read alive.
      if (this.depth <= 1) return;
      if (this.refused === undefined) {
        this.size += bytes(text);
        this.check();
      }
      if (this.refused === undefined) base.onText.call(this, text);
    }

    onEndElement(name: string): void {
      this.depth--;
      const refused = this.refused;
      if (refused === undefined) {
        if (this.depth !== 1) {
          base.onEndElement.call(this, name);
          return;
        }
        // The stanza is complete: this call hands it to the library's listeners.
        const { timed } = this;
        const endAt = timed && stages ? stages.now() : 0;
        try {
          base.onEndElement.call(this, name);
          if (timed && stages) stages.presence(timed.readAt, timed.startAt, endAt, stages.now());
        } catch (err) {
          const internals = this as unknown as ParserInternals;
          internals.cursor = internals.root;
          const top: Top = this.top ?? { name: "?", from: undefined };
          guarded.onRefused({
            ...top,
            reason: `the XMPP library could not read it: ${(err as Error).message}`,
          });
        }
        return;
      }
      if (this.depth > 1) return;
      // The refused stanza is over: drop what was built, go on with the stream.
      const internals = this as unknown as ParserInternals;
      internals.cursor = internals.root;
      this.refused = undefined;
      guarded.onRefused(refused);
    }

    private check(): void {
      const top: Top = this.top ?? { name: "?", from: undefined };
      if (this.depth - 1 > limits.maxDepth) {
        this.refused = { ...top, reason: `nested deeper than ${limits.maxDepth} elements` };
      } else if (this.size > limits.maxBytes) {
        this.refused = { ...top, reason: `larger than ${limits.maxBytes} bytes` };
      }
    }
  };
}

// `@xmpp/connection` binds `_onData` when it attaches a socket and builds
// `new this.Parser()` when it opens the stream: both can be replaced on the
// entity before `start()`.
interface ConnectionInternals {
  Parser: unknown;
  parser: { write(s: string): void } | null;
  _onData(data: Buffer): void;
  emit(event: string, ...args: unknown[]): boolean;
}

/** Installs the guard on a fresh `@xmpp/component` entity, before `start()`. */
export function guardStream(
  entity: Component,
  guarded: Guarded,
  limits: StreamLimits = DEFAULT_LIMITS,
): void {
  const connection = entity as unknown as ConnectionInternals;
  const decoder = new StringDecoder("utf8");
  let pending = 0;
  const { stages } = guarded;
  let readAt = 0;
  connection.Parser = guardedParser(
    limits,
    {
      onRefused: (refused) => {
        pending = 0;
        guarded.onRefused(refused);
      },
      stages,
    },
    () => readAt,
  );
  entity.on("element", () => {
    pending = 0;
  });
  // The socket's "data" listener: a throw from here would be an uncaught
  // exception, the end of the process.
  connection._onData = function onData(data: Buffer) {
    try {
      if (stages) readAt = stages.now();
      pending += data.length;
      if (pending > limits.maxPendingBytes) {
        guarded.onOverflow(pending);
        return;
      }
      const text = decoder.write(data);
      if (text === "") return;
      this.emit("input", text);
      this.parser?.write(text);
    } catch (err) {
      guarded.onFailure?.(err);
    }
  };
}
