import { createHash } from "node:crypto";
import { connect } from "node:net";
import { StanzaSplitter } from "./raw-xmpp-client.js";

/**
 * The end-to-end benchmark's baseline: the least an XEP-0114 component can do
 * and still put one notification in front of the server user per presence.
 *
 *   - handshake: hex SHA-1(stream id + secret) (XEP-0114 §3);
 *   - stanzas cut out of the stream by counting tags (the bench clients'
 *     StanzaSplitter), not parsed;
 *   - for every `<presence`: one message to the server user, a fixed template
 *     (the daemon's default bytes, with a fixed 36-character trace so the
 *     size matches) with only the `from` attribute, sliced as written, and
 *     the availability spliced in;
 *   - every message of one socket read in one write.
 *
 * No state (a repeated presence is forwarded again), no JID parsing or
 * checks, no escaping: the `from` goes into the JSON as the server wrote it,
 * which is only right for the bench's plain ASCII JIDs.
 */

const TRACE = "00000000-0000-4000-8000-000000000000";

export interface Forwarder {
  /** Presences forwarded so far. */
  readonly forwarded: number;
  close(): void;
}

export async function startForwarder(options: {
  port: number;
  domain: string;
  secret: string;
  /** The server user's bare JID. */
  serverUser: string;
}): Promise<Forwarder> {
  const head = `<message type="chat" id="${TRACE}" from="${options.domain}" to="${options.serverUser}"><body>Presence update</body><event xmlns="flux:xmpp" mime="application/json">{"trace":"${TRACE}","type":"PRESENCE_DID_CHANGE","args":{"user":"`;
  const available = `","presence":"available"}}</event></message>`;
  const unavailable = `","presence":"unavailable"}}</event></message>`;

  const socket = connect({ port: options.port, host: "127.0.0.1", noDelay: true });
  socket.setEncoding("utf8");
  const splitter = new StanzaSplitter();
  let preamble = "";
  let handshakeSent = false;
  let forwarded = 0;
  let authenticated: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    authenticated = resolve;
    failed = reject;
  });

  const forward = (stanza: string): string | undefined => {
    const end = stanza.indexOf(">");
    const at = stanza.indexOf(" from=");
    if (at < 0 || at > end) return undefined;
    const quote = stanza[at + 6] as string;
    const from = stanza.slice(at + 7, stanza.indexOf(quote, at + 7));
    const gone =
      stanza.lastIndexOf("type='unavailable'", end) >= 0 ||
      stanza.lastIndexOf('type="unavailable"', end) >= 0;
    forwarded++;
    return head + from + (gone ? unavailable : available);
  };

  socket.on("data", (chunk: string) => {
    if (!handshakeSent) {
      preamble += chunk;
      const id = /<stream:stream[^>]*\sid=(['"])([^'"]*)\1[^>]*>/.exec(preamble)?.[2];
      if (id === undefined) return;
      handshakeSent = true;
      const digest = createHash("sha1").update(`${id}${options.secret}`, "utf8").digest("hex");
      socket.write(`<handshake>${digest}</handshake>`);
      chunk = preamble;
    }
    let out = "";
    for (const stanza of splitter.push(chunk)) {
      if (stanza.startsWith("<presence")) out += forward(stanza) ?? "";
      else if (stanza.startsWith("<handshake")) authenticated();
      else if (stanza.startsWith("<stream:error")) failed(new Error(`stream error: ${stanza}`));
    }
    if (out !== "") socket.write(out);
  });
  socket.on("error", (err) => failed(err));
  socket.on("close", () => failed(new Error("the server closed the component stream")));
  socket.write(
    `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${options.domain}'>`,
  );
  await ready;
  return {
    get forwarded() {
      return forwarded;
    },
    close: () => socket.destroy(),
  };
}
