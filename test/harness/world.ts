import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { waitFor } from "../../src/launcher/polling.js";
import type { ProsodyServer } from "../../src/launcher/prosody.js";
import { connectUser, stopQuietly } from "./xmpp-users.js";

export interface Received {
  stanza: Element;
  from: string | undefined;
  trace: string;
  user: string;
  presence: string;
  /** With notify.sequence = "session". */
  seq?: number;
}

/** The backend "world server": an ordinary user that reads notifications. */
export class WorldServer {
  readonly received: Received[] = [];
  entity: Client | undefined;

  constructor(
    private readonly server: Pick<ProsodyServer, "c2sPort">,
    readonly username: string,
    readonly domain: string,
    private readonly password = "world-pass",
  ) {}

  get jid(): string {
    return `${this.username}@${this.domain}`;
  }

  async connect(): Promise<this> {
    this.entity = await connectUser({
      service: `xmpp://127.0.0.1:${this.server.c2sPort}`,
      domain: this.domain,
      username: this.username,
      password: this.password,
      resource: "backend",
      beforeStart: (entity) => {
        entity.on("stanza", (stanza: Element) => {
          if (stanza.is("message") && stanza.getChild("event", "flux:xmpp")) {
            this.record(stanza);
            this.acknowledge(entity, stanza);
          }
        });
      },
    });
    await this.entity.send(xml("presence"));
    return this;
  }

  /** XEP-0184 section 5: a receipt for each message that asks for one, as real clients do. */
  private acknowledge(entity: Client, message: Element): void {
    const id = message.attrs.id;
    if (!message.getChild("request", "urn:xmpp:receipts") || id === undefined) return;
    entity
      .send(
        xml("message", { to: message.attrs.from, id: `receipt-${id}` }, [
          xml("received", { xmlns: "urn:xmpp:receipts", id }),
        ]),
      )
      .catch(() => undefined); // the connection is going: the daemon sends it again
  }

  private record(stanza: Element): void {
    const json = JSON.parse(stanza.getChild("event", "flux:xmpp")?.getText() ?? "{}");
    this.received.push({
      stanza,
      from: stanza.attrs.from,
      trace: json.trace,
      user: json.args?.user,
      presence: json.args?.presence,
      ...(typeof json.args?.seq === "number" ? { seq: json.args.seq } : {}),
    });
  }

  /**
   * Notifications about one session, each trace once (a resend repeats its
   * trace), in the order each first arrived.
   */
  distinctAbout(fullJid: string): Received[] {
    const seen = new Set<string>();
    return this.received.filter(
      (r) => r.user === fullJid && !seen.has(r.trace) && seen.add(r.trace) !== undefined,
    );
  }

  /** Notifications about one session, as "available"/"unavailable". */
  about(fullJid: string): string[] {
    return this.received.filter((r) => r.user === fullJid).map((r) => r.presence);
  }

  async waitFor(fullJid: string, presences: string[], timeoutMs = 10_000): Promise<void> {
    await waitFor(
      () => JSON.stringify(this.about(fullJid)) === JSON.stringify(presences),
      timeoutMs,
      `notifications ${JSON.stringify(presences)} for ${fullJid} (got ${JSON.stringify(this.about(fullJid))})`,
    );
  }

  /** Waits until at least `count` notifications about `fullJid` arrived. */
  async waitForSession(fullJid: string, count: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      () => this.about(fullJid).length >= count,
      timeoutMs,
      `${count} notifications for ${fullJid}`,
    );
  }

  async stop(): Promise<void> {
    await stopQuietly(this.entity);
  }
}
