import { EventEmitter } from "node:events";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { PresenceStages } from "../../src/telemetry/presence-stages.js";
import type { Link } from "../../src/xmpp/component-link.js";
import { parseXml } from "./xml.js";

/**
 * An in-memory stand-in for the XMPP server at the other end of the
 * component link. Every stanza crosses it as XML text and is parsed back by
 * xmpp.js's parser, as on a socket. It answers XEP-0199 pings the way
 * Prosody and ejabberd do (SERVERS.md): a result from a live session,
 * service-unavailable for any other full JID.
 */
export class MemoryServer extends EventEmitter implements Link {
  readonly domain = "presence.localhost";
  online = false;
  readonly sent: Element[] = [];
  readonly liveSessions = new Set<string>();
  /** When set, sends fail as a broken socket would. */
  failSends = false;
  /** Server users that are offline: messages to them bounce (no offline storage). */
  readonly offline = new Set<string>();
  /** Server users whose client answers XEP-0184 receipt requests (from resource "game"). */
  readonly answersReceipts = new Set<string>();
  /** When set, messages are taken and then lost without a word (a server crash). */
  swallow = false;
  /** Sessions whose pings get no answer at all (a half-open socket). */
  readonly silentSessions = new Set<string>();
  /** Each presence's stages, timed on `now` (a test's simulated clock) as ComponentLink times them. */
  readonly stages: PresenceStages;

  constructor(now: () => number = () => 0) {
    super();
    this.stages = new PresenceStages(now);
  }

  connect(): void {
    this.emit("connecting");
    this.online = true;
    this.emit("online");
  }

  drop(): void {
    this.online = false;
    this.emit("offline", "test dropped the link");
  }

  async send(el: Element): Promise<void> {
    if (!this.online || this.failSends) throw new Error("socket closed");
    const stanza = parseXml(el.toString());
    if (stanza.name === "message" && this.offline.has(stanza.attrs.to ?? "")) {
      this.bounce(stanza);
      return;
    }
    if (stanza.name === "message" && this.swallow) return;
    this.sent.push(stanza);
    if (stanza.name === "iq" && stanza.getChild("ping", "urn:xmpp:ping")) this.answerPing(stanza);
    if (stanza.name === "message") this.answerReceipt(stanza);
  }

  /** As one write: in order; a failure before the first leaves none sent. */
  async sendAll(stanzas: readonly string[]): Promise<void> {
    if (!this.online || this.failSends) throw new Error("socket closed");
    for (const text of stanzas) await this.send(parseXml(text));
  }

  /** Delivers a stanza from the server to the component: one read, one stanza. */
  deliver(text: string): void {
    const { stages } = this;
    const readAt = stages.now();
    const stanza = parseXml(text);
    const endAt = stages.now();
    this.emit("stanza", stanza);
    if (stanza.name === "presence") stages.presence(readAt, readAt, endAt, stages.now());
  }

  messages(): Element[] {
    return this.sent.filter((s) => s.name === "message");
  }

  /** RFC 6120 8.3: the server returns the message with a service-unavailable error. */
  private bounce(message: Element): void {
    const error = xml(
      "message",
      { type: "error", id: message.attrs.id, from: message.attrs.to, to: message.attrs.from },
      xml(
        "error",
        { type: "cancel" },
        xml("service-unavailable", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }),
      ),
    );
    setImmediate(() => this.emit("stanza", parseXml(error.toString())));
  }

  /** XEP-0184 section 5: the recipient's client echoes the id in <received>. */
  private answerReceipt(message: Element): void {
    const to = message.attrs.to ?? "";
    if (!message.getChild("request", "urn:xmpp:receipts") || !this.answersReceipts.has(to)) return;
    const receipt = xml(
      "message",
      { from: `${to}/game`, to: message.attrs.from, id: `r-${message.attrs.id}` },
      xml("received", { xmlns: "urn:xmpp:receipts", id: message.attrs.id }),
    );
    setImmediate(() => this.emit("stanza", parseXml(receipt.toString())));
  }

  private answerPing(iq: Element): void {
    const to = iq.attrs.to ?? "";
    if (this.silentSessions.has(to)) return;
    const reply = this.liveSessions.has(to)
      ? xml("iq", { type: "result", id: iq.attrs.id, from: to, to: iq.attrs.from })
      : xml(
          "iq",
          { type: "error", id: iq.attrs.id, from: to, to: iq.attrs.from },
          xml(
            "error",
            { type: "cancel" },
            xml("service-unavailable", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }),
          ),
        );
    queueMicrotask(() => this.emit("stanza", parseXml(reply.toString())));
  }
}

/** Lets pending promise callbacks and microtasks run; never waits on time. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
