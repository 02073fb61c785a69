import { createHash, randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import xmlModule, { type Element } from "@xmpp/xml";

/**
 * The hand-written baseline of the pipeline benchmark: the least a component
 * can do and still be this daemon's protocol. XEP-0114 handshake, then:
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
  const socket: Socket = connect({ port: options.port, host: "127.0.0.1" });
  socket.setNoDelay(true);
  socket.setEncoding("utf8");
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
  let authenticated: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    authenticated = resolve;
    failed = reject;
  });
  let streamId: string | undefined;
  parser.on("start", (el: Element) => {
    streamId = el.attrs.id;
    // XEP-0114 section 3: hex SHA-1 of the stream id followed by the secret.
    const digest = createHash("sha1")
      .update(`${streamId}${options.secret}`, "binary")
      .digest("hex");
    socket.write(`<handshake>${digest}</handshake>`);
  });
  parser.on("element", (el: Element) => {
    if (el.name === "handshake") authenticated();
    else onStanza(el);
  });
  parser.on("error", (err: Error) => failed(err));
  socket.on("data", (data: string) => parser.write(data));
  socket.on("error", (err) => failed(err));
  socket.write(
    `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`,
  );
  await ready;
  return { close: () => socket.destroy() };
}
