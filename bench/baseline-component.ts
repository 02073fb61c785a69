import { randomUUID } from "node:crypto";
import xmlModule, { type Element } from "@xmpp/xml";
import { openComponentStream } from "./component-stream.js";

/**
 * The hand-written baseline of the pipeline benchmark: the least a component
 * can do and still be this daemon's protocol. The XEP-0114 handshake of
 * component-stream.ts, then:
 *
 *   stream parse  the same parser the daemon's `@xmpp/component` uses
 *                 (`@xmpp/xml`'s Parser over ltx), so the ratio measures what
 *                 the daemon adds on top of parsing, not a faster parser;
 *   state switch  one `Map<fullJid, true>`: available if absent -> notify,
 *                 unavailable if present -> notify;
 *   serialize     a string template with the same bytes as the daemon's
 *                 notification (random trace, JSON payload by JSON.stringify);
 *   write         corked: every notification of one socket read goes out in
 *                 one write.
 *
 * No checks of the JID, no filters, no logging, no supervision, no queue.
 */

const { Parser } = xmlModule;

const escapeAttr = (s: string) =>
  /[&<>"']/.test(s)
    ? s
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;")
        .replace(/'/g, "&apos;")
    : s;
const escapeText = (s: string) =>
  /[&<>]/.test(s) ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") : s;

export async function startBaselineComponent(options: {
  port: number;
  domain: string;
  secret: string;
  serverUser: string;
}): Promise<{ close(): void }> {
  const { domain, serverUser } = options;
  const { socket, rest } = await openComponentStream(options);
  const online = new Map<string, true>();
  let corked = false;

  const notify = (user: string, presence: "available" | "unavailable") => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    const trace = randomUUID();
    const at = user.indexOf("@");
    const slash = user.indexOf("/", at);
    const to = `${serverUser}@${user.slice(at + 1, slash < 0 ? undefined : slash)}`;
    const json = JSON.stringify({
      trace,
      type: "PRESENCE_DID_CHANGE",
      args: { user, presence },
    });
    socket.write(
      `<message type="chat" id="${trace}" from="${domain}" to="${escapeAttr(to)}"><body>Presence update</body><event xmlns="flux:xmpp" mime="application/json">${escapeText(json)}</event></message>`,
    );
  };

  const onStanza = (el: Element) => {
    if (el.name !== "presence") return;
    const from = el.attrs.from;
    if (from === undefined) return;
    const type = el.attrs.type;
    if (type === undefined) {
      if (!online.has(from)) {
        online.set(from, true);
        notify(from, "available");
      }
    } else if (type === "unavailable" && online.delete(from)) {
      notify(from, "unavailable");
    }
  };

  const parser = new Parser();
  parser.on("element", onStanza);
  parser.on("error", () => socket.destroy());
  // The parser wants the stream's root before its stanzas; the handshake read the real one.
  parser.write(
    "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>",
  );
  parser.write(rest);
  socket.on("data", (data: string) => parser.write(data));
  socket.on("error", () => undefined);
  return { close: () => socket.destroy() };
}
