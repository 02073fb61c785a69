// @xmpp/client 0.14.0 (ESM, a devDependency used by tests) ships no types.
// Only what the tests use. Element comes from the shared "@xmpp/xml" declaration.

declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";
  import type { Element } from "@xmpp/xml";

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  /**
   * Called instead of the built-in mechanism choice. Over plaintext the
   * built-in choice never picks PLAIN; call `authenticate(creds, "PLAIN")` to force it.
   */
  export type Credentials = (
    authenticate: (
      credentials: { username: string; password: string },
      mechanism: string,
      userAgent?: Element,
    ) => Promise<void>,
    mechanisms: string[],
  ) => Promise<void>;

  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    credentials?: Credentials;
    timeout?: number;
  }

  export interface Client extends EventEmitter {
    status: string;
    jid: JID | null;
    socket: { destroy(): void; secure?: boolean } | null;
    reconnect: { stop(): void; start(): void; delay: number };
    isSecure(): boolean;
    start(): Promise<JID>;
    stop(): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    send(...elements: Element[]): Promise<void>;
    iqCaller: { request(element: Element, timeout?: number): Promise<Element> };
  }

  export function client(options: ClientOptions): Client;
  export function jid(local: string, domain?: string, resource?: string): JID;
  export const xml: typeof import("@xmpp/xml").xml;
}
