import { type Client, client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Clock } from "../otp/clock.js";
import { type Connector, CredentialsRefused } from "./connection.js";

/**
 * Connections made with @xmpp/client (RFC 6120 c2s: STARTTLS when offered,
 * SASL, resource binding). Its own reconnect plugin is stopped: the client's
 * lifecycle (src/client/client-machine.ts) owns reconnection, with backoff.
 */
export interface XmppConnectorOptions {
  readonly service: string;
  readonly local: string;
  readonly domain: string;
  readonly password: string;
  readonly resource: string;
  readonly sasl: string | undefined;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/** RFC 6120 section 6.5: the SASL failures that mean "wrong account or password". */
const REFUSED = new Set(["not-authorized", "account-disabled", "credentials-expired"]);

export function xmppConnector(o: XmppConnectorOptions): Connector {
  return async (handlers) => {
    const username = o.local;
    const { password, sasl } = o;
    const entity: Client = client({
      service: o.service,
      domain: o.domain,
      resource: o.resource,
      timeout: o.timeoutMs,
      ...(sasl === undefined
        ? { username, password }
        : {
            credentials: (authenticate, offered) => {
              if (!offered.includes(sasl)) {
                throw new Error(`the server offers ${offered.join(", ")}, not ${sasl}`);
              }
              return authenticate({ username, password }, sasl);
            },
          }),
    });
    entity.reconnect.stop();
    let bound = false;
    let ended = false;
    const end = (reason: string) => {
      if (!bound || ended) return;
      ended = true;
      handlers.closed(reason);
    };
    // Errors surface as start()'s rejection or as the end of the session.
    entity.on("error", () => undefined);
    entity.on("stanza", (stanza: Element) => {
      if (bound && !ended) handlers.stanza(stanza);
    });
    entity.on("disconnect", () => end("the connection to the XMPP server dropped"));
    entity.on("offline", () => end("the XMPP server closed the session"));
    try {
      await withTimeout(entity.start(), o.clock, o.timeoutMs);
    } catch (err) {
      entity.socket?.destroy();
      await entity.stop().catch(() => undefined);
      const { name, condition } = err as { name?: string; condition?: string };
      if (name === "SASLError" && condition !== undefined && REFUSED.has(condition)) {
        throw new CredentialsRefused(
          `the XMPP server refused the password for ${username}@${o.domain} (${condition})`,
        );
      }
      throw err;
    }
    bound = true;
    return {
      jid: entity.jid?.toString() ?? `${username}@${o.domain}/${o.resource}`,
      send: (stanza) => entity.send(stanza),
      close: async () => {
        ended = true;
        await entity.stop().catch(() => entity.socket?.destroy());
      },
    };
  };
}

function withTimeout<T>(work: Promise<T>, clock: Clock, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(
      () => reject(new Error(`no session within ${ms} ms (login timed out)`)),
      ms,
    );
    work.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err);
      },
    );
  });
}
