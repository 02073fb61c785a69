import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import type { Truth } from "./chaos-oracle.js";
import type { Rng } from "./chaos-rng.js";
import { connectUser, stopQuietly } from "./xmpp-users.js";

/**
 * The real users of a chaos run on Prosody or ejabberd, and the truth about
 * them: a session is online while the harness holds its socket open (not
 * killed by the harness, not closed by the server) and its last broadcast
 * presence was available. Every full JID is used once (a fresh resource per
 * login), so each session's notifications are one numbered story.
 */
interface Session {
  readonly jid: string;
  readonly client: Client;
  connected: boolean;
  available: boolean;
}

export type UserAction = "come" | "go" | "drop" | "show" | "flip";
export type HostileAction = "directed" | "forged-delay" | "oversized" | "deep";

const COMPONENT = "presence.localhost";

export class XmppCrowd implements Truth {
  private readonly sessions = new Map<string, Session>();
  private logins = 0;

  constructor(
    private readonly c2sPort: number,
    private readonly accounts: readonly string[],
    private readonly password: string,
    private readonly rng: Rng,
    /** How many sessions the crowd tends towards. */
    private readonly target: number,
    /**
     * Also send presences nested too deep for the daemon to parse. Off by
     * default: the daemon loses the truth on them (chaos-findings.test.ts),
     * so a run with them finds that defect, not new ones.
     */
    private readonly unparsable = false,
  ) {}

  online(): ReadonlyMap<string, boolean> {
    const truth = new Map<string, boolean>();
    for (const s of this.sessions.values()) truth.set(s.jid, s.connected && s.available);
    return truth;
  }

  get live(): Session[] {
    return [...this.sessions.values()].filter((s) => s.connected);
  }

  /** Live sessions no other action is using: actions run side by side, one per session. */
  private idle(): Session[] {
    return this.live.filter((s) => !this.busy.has(s.jid));
  }

  private readonly busy = new Set<string>();

  private async with(session: Session, action: () => Promise<string>): Promise<string> {
    this.busy.add(session.jid);
    try {
      return await action();
    } finally {
      this.busy.delete(session.jid);
    }
  }

  /** One user action, chosen by the RNG; returns what it did, for the fault log. */
  async act(): Promise<string> {
    const live = this.idle();
    const action: UserAction =
      live.length === 0
        ? "come"
        : this.rng.weighted({
            // Towards `target` sessions: arrivals outweigh departures below it.
            come: live.length < this.target ? 6 : 1,
            go: 1,
            drop: 1,
            show: 2,
            flip: 1,
          });
    if (action === "come") return this.come();
    const session = this.rng.pick(live);
    return this.with(session, () => this.apply(action, session));
  }

  private async apply(action: Exclude<UserAction, "come">, session: Session): Promise<string> {
    switch (action) {
      case "go":
        session.available = false;
        await this.send(session, xml("presence", { type: "unavailable" }));
        session.connected = false;
        await stopQuietly(session.client);
        return `go ${session.jid}`;
      case "drop":
        session.connected = false;
        session.client.socket?.destroy();
        return `drop ${session.jid}`;
      case "show":
        if (!session.available) return this.flipOf(session);
        await this.send(
          session,
          xml("presence", {}, xml("show", {}, this.rng.pick(["away", "dnd", "xa", "chat"]))),
        );
        return `show ${session.jid}`;
      default:
        return this.flipOf(session);
    }
  }

  /** One hostile stanza from a live session; the truth does not move. */
  async hostile(): Promise<string> {
    const live = this.idle();
    if (live.length === 0) return "hostile: nobody online";
    const session = this.rng.pick(live);
    const action = this.rng.pick<HostileAction>(
      this.unparsable
        ? ["directed", "forged-delay", "oversized", "deep"]
        : ["directed", "forged-delay", "oversized"],
    );
    return this.with(session, () => this.attack(action, session));
  }

  private async attack(action: HostileAction, session: Session): Promise<string> {
    switch (action) {
      case "directed":
        // RFC 6121 directed presence to the component, faking the opposite of the truth.
        await this.send(
          session,
          xml(
            "presence",
            session.available ? { to: COMPONENT, type: "unavailable" } : { to: COMPONENT },
          ),
        );
        break;
      case "forged-delay":
        // A XEP-0203 stamp "from the server" in the user's own presence: a real
        // presence all the same (it makes the session available if it was not).
        session.available = true;
        await this.send(
          session,
          xml(
            "presence",
            {},
            xml("delay", {
              xmlns: "urn:xmpp:delay",
              from: "localhost",
              stamp: new Date().toISOString(),
            }),
          ),
        );
        break;
      case "oversized":
        // Past Prosody's 256 KiB c2s limit: the server may end the session for
        // it (the client's disconnect then moves the truth); the daemon must not
        // notice anything else.
        if (!session.available) break;
        await this.send(session, xml("presence", {}, xml("status", {}, "x".repeat(300 * 1024))));
        break;
      case "deep": {
        if (!session.available) break;
        let nest = xml("x", { xmlns: "urn:example:deep" });
        for (let i = 0; i < 40; i++) nest = xml("x", { xmlns: "urn:example:deep" }, nest);
        await this.send(session, xml("presence", {}, nest));
        break;
      }
    }
    return `hostile ${action} ${session.jid}`;
  }

  private async flipOf(session: Session): Promise<string> {
    session.available = !session.available;
    await this.send(
      session,
      session.available ? xml("presence") : xml("presence", { type: "unavailable" }),
    );
    return `flip ${session.jid} ${session.available ? "available" : "unavailable"}`;
  }

  private async come(): Promise<string> {
    const account = this.rng.pick(this.accounts);
    const [username = "", domain = ""] = account.split("@");
    const resource = `r${this.logins++}`;
    const jid = `${account}/${resource}`;
    const show = this.rng.next() < 0.3;
    let client: Client;
    try {
      client = await connectUser({
        service: `xmpp://127.0.0.1:${this.c2sPort}`,
        domain,
        username,
        password: this.password,
        resource,
      });
    } catch (err) {
      return `come ${jid} failed: ${(err as Error).message}`;
    }
    const session: Session = { jid, client, connected: true, available: false };
    this.sessions.set(jid, session);
    client.on("disconnect", () => {
      session.connected = false;
    });
    session.available = true;
    await this.send(session, show ? xml("presence", {}, xml("show", {}, "away")) : xml("presence"));
    return `come ${jid}`;
  }

  private async send(session: Session, stanza: ReturnType<typeof xml>): Promise<void> {
    try {
      await session.client.send(stanza);
    } catch {
      session.connected = false;
    }
  }

  /** The XMPP server died: every socket with it. */
  serverDied(): void {
    for (const s of this.sessions.values()) s.connected = false;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions.values()) await stopQuietly(s.client);
  }
}
