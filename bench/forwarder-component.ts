import { openComponentStream } from "./component-stream.js";
import { StanzaSplitter } from "./raw-xmpp-client.js";

/**
 * The end-to-end benchmark's baseline: the least an XEP-0114 component can do
 * and still put one notification in front of the server user per presence.
 *
 *   - the XEP-0114 handshake of component-stream.ts;
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

  const splitter = new StanzaSplitter();
  let forwarded = 0;

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

  const { socket, rest } = await openComponentStream(options);
  const read = (chunk: string) => {
    let out = "";
    for (const stanza of splitter.push(chunk)) {
      if (stanza.startsWith("<presence")) out += forward(stanza) ?? "";
    }
    if (out !== "") socket.write(out);
  };
  socket.on("data", read);
  socket.on("error", () => undefined);
  read(rest);
  return {
    get forwarded() {
      return forwarded;
    },
    close: () => socket.destroy(),
  };
}
