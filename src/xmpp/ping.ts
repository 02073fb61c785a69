import { randomBytes } from "node:crypto";
import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import type { Clock } from "../otp/clock.js";

/**
 * XEP-0199 pings from the component to a session's full JID. SERVERS.md: a
 * live session answers with a result, a dead one gets service-unavailable from
 * the server, on Prosody and ejabberd alike; a presence probe gets nothing.
 *
 * Outstanding pings are tracked here against the injected clock (not the
 * library's iq caller, which times out on the real clock).
 */

export const NS_PING = "urn:xmpp:ping";

export type PingOutcome = "alive" | "gone" | "timeout" | "error";

interface Pending {
  to: string;
  resolve: (outcome: PingOutcome) => void;
  timer: unknown;
}

export class Pinger {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  // Ids are not guessable, so a user cannot answer a ping meant for another.
  private readonly prefix = `ping-${randomBytes(6).toString("hex")}`;

  constructor(
    private readonly deps: {
      clock: Clock;
      from: () => string;
      send: (el: Element) => Promise<void>;
      timeoutMs: number;
    },
  ) {}

  get outstanding(): number {
    return this.pending.size;
  }

  ping(fullJid: string, timeoutMs = this.deps.timeoutMs): Promise<PingOutcome> {
    const id = `${this.prefix}-${++this.seq}`;
    const { clock } = this.deps;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => this.settle(id, "timeout"), timeoutMs);
      this.pending.set(id, { to: fullJid, resolve, timer });
      const iq = xml(
        "iq",
        { type: "get", id, to: fullJid, from: this.deps.from() },
        xml("ping", { xmlns: NS_PING }),
      );
      this.deps.send(iq).catch(() => this.settle(id, "error"));
    });
  }

  /** Feeds an inbound `<iq type="result|error">`; returns true if it was ours. */
  handleReply(iq: Element): boolean {
    const id = iq.attrs.id;
    if (id === undefined || !this.pending.has(id)) return false;
    if (iq.attrs.from !== this.pending.get(id)?.to) return false;
    if (iq.attrs.type === "result") this.settle(id, "alive");
    else if (iq.attrs.type === "error") {
      // RFC 6120 8.3.3.19: service-unavailable / item-not-found mean no such session.
      const error = iq.getChild("error");
      const gone = error
        ?.getChildElements()
        .some((c) =>
          ["service-unavailable", "item-not-found", "recipient-unavailable"].includes(c.name),
        );
      this.settle(id, gone ? "gone" : "error");
    }
    return true;
  }

  /** Resolves every outstanding ping as an error (the link went down). */
  cancelAll(): void {
    for (const id of [...this.pending.keys()]) this.settle(id, "error");
  }

  private settle(id: string, outcome: PingOutcome): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    this.deps.clock.clearTimeout(entry.timer);
    entry.resolve(outcome);
  }
}
