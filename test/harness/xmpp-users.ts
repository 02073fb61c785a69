import { type Client, client } from "@xmpp/client";
import { type Component, component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";

/**
 * Real protocol peers for end-to-end tests: users over c2s (@xmpp/client) and
 * a bare XEP-0114 component (@xmpp/component), with the reconnect plugins
 * stopped so a test sees exactly what the server did.
 */

export interface UserOptions {
  /** e.g. `xmpp://127.0.0.1:${server.c2sPort}` (plain TCP, no STARTTLS offered). */
  service: string;
  domain: string;
  username: string;
  password: string;
  resource?: string;
  /**
   * SASL mechanism. @xmpp/client 0.14 never picks PLAIN on an insecure socket
   * by itself (it takes the first non-PLAIN offer, SCRAM-SHA-1 on Prosody), so
   * "PLAIN" is forced through the `credentials` callback. Default "PLAIN".
   */
  mechanism?: "PLAIN" | "SCRAM-SHA-1";
  /** Attach handlers here to see stanzas that arrive during `start()`. */
  beforeStart?: (entity: Client) => void;
}

/** Logs a user in and resolves once the session is bound; the caller stops it. */
export async function connectUser(options: UserOptions): Promise<Client> {
  const { username, password } = options;
  const mechanism = options.mechanism ?? "PLAIN";
  const entity = client({
    service: options.service,
    domain: options.domain,
    resource: options.resource,
    credentials: (authenticate, offered) => {
      if (!offered.includes(mechanism)) {
        throw new Error(`server offers ${offered.join(", ")}, not ${mechanism}`);
      }
      return authenticate({ username, password }, mechanism);
    },
  });
  entity.reconnect.stop();
  // An "error" event without a listener would crash the test process.
  entity.on("error", () => {});
  options.beforeStart?.(entity);
  await entity.start();
  return entity;
}

export interface ComponentOptions {
  /** e.g. `xmpp://127.0.0.1:${server.componentPort}` */
  service: string;
  domain: string;
  password: string;
}

/**
 * Connects a raw component. Every stanza is recorded from before `start()`:
 * Prosody sends the XEP-0356 advertisement and the presence replay in the same
 * TCP chunk as `<handshake/>`, so a later handler would miss them.
 */
export async function connectComponent(
  options: ComponentOptions,
): Promise<{ entity: Component; stanzas: Element[] }> {
  const entity = component(options);
  entity.reconnect.stop();
  entity.on("error", () => {});
  const stanzas = collectStanzas(entity);
  await entity.start();
  return { entity, stanzas };
}

interface StanzaSource {
  on(event: "stanza", listener: (stanza: Element) => void): unknown;
}

/** A live list of the stanzas `entity` receives that match `predicate`. */
export function collectStanzas(
  entity: StanzaSource,
  predicate: (stanza: Element) => boolean = () => true,
): Element[] {
  const stanzas: Element[] = [];
  entity.on("stanza", (stanza) => {
    if (predicate(stanza)) stanzas.push(stanza);
  });
  return stanzas;
}

// The one polling helper of tests, launchers and benchmarks; e2e files take it from here.
export { waitFor } from "../../src/launcher/polling.js";

/** Stops an entity, ignoring errors from an already dead connection. */
export async function stopQuietly(entity: { stop(): Promise<unknown> } | undefined): Promise<void> {
  try {
    await entity?.stop();
  } catch {
    // already gone
  }
}
