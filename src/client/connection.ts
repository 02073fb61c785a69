import type { Element } from "@xmpp/xml";

/**
 * One logged-in session of the server user, as the client needs it. The
 * client makes a new one for every (re)connect and owns the retrying;
 * src/client/xmpp-connector.ts makes them with @xmpp/client, the unit tests
 * with an in-memory peer.
 */
export interface Connection {
  /** The bound full JID. */
  readonly jid: string;
  send(stanza: Element): Promise<void>;
  /** Ends the session; `closed` is not called for it. */
  close(): Promise<void>;
}

export interface ConnectionHandlers {
  /** Every stanza, from the moment the session is bound. */
  stanza(stanza: Element): void;
  /** The session ended without `close` (the socket dropped, the server closed the stream). */
  closed(reason: string): void;
}

export type Connector = (handlers: ConnectionHandlers) => Promise<Connection>;

/** The server refused the credentials: retrying would not help (and could lock the account). */
export class CredentialsRefused extends Error {
  readonly _tag = "CredentialsRefused";
}
