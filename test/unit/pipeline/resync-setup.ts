import { settle } from "../../support/memory-link.js";
import { available, type setup } from "./setup.js";

export type T = ReturnType<typeof setup>;

export const ADVERTISEMENT = `<message from="localhost" to="presence.localhost"><privilege xmlns="urn:xmpp:privilege:2"><perm access="presence" type="managed_entity"/></privilege></message>`;
/** What Prosody's mod_presence appends to a stored presence, and mod_privilege replays. */
export const stamped = (jid: string, by = "localhost") =>
  available(jid, `<delay xmlns="urn:xmpp:delay" from="${by}" stamp="2026-01-01T00:00:00Z"/>`);

/**
 * A reconnect as the component sees it: the stanzas the server wrote with
 * its <handshake/> are parsed before the library reports "online" (they
 * come in the same read), the rest after.
 */
export function reconnect(t: T, withHandshake: string[], afterOnline: string[] = []): void {
  t.server.emit("connecting");
  for (const s of withHandshake) t.server.deliver(s);
  t.server.online = true;
  t.server.emit("online");
  for (const s of afterOnline) t.server.deliver(s);
}

export async function online(t: T, ...jids: string[]): Promise<void> {
  t.server.connect();
  for (const jid of jids) t.server.deliver(available(jid));
  await settle();
  t.server.drop();
  await settle();
}

export const gone = (t: T) =>
  t
    .notified()
    .filter((n) => n.presence === "unavailable")
    .map((n) => n.user)
    .sort();
