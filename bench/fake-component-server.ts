import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { handshakeDigest } from "./component-stream.js";

/**
 * An in-process stand-in for an XMPP server's XEP-0114 component port, on
 * loopback, that feeds privileged presences (XEP-0356 presence =
 * managed_entity, as Prosody's mod_privilege sends them) to whatever
 * component connects, and counts and checks the notifications coming back.
 *
 * Handshake (XEP-0114 section 3): the component opens
 * `<stream:stream xmlns='jabber:component:accept' to=DOMAIN>`, the server
 * answers with its own header carrying a stream id, the component sends
 * `<handshake>` = hex SHA-1(streamId + secret) (as `@xmpp/component` does),
 * the server answers `<handshake/>` and then, as Prosody does, the privilege
 * advertisement (XEP-0356 section 4).
 *
 * Two ways to feed:
 * - `flood(events, window)`: closed loop, at most `window` presences ahead
 *   of the notifications received: as fast as the component keeps up.
 * - `paced(events, rate)`: open loop, `rate` presences a second on a fixed
 *   schedule whatever the component does; each notification's latency is
 *   measured from the moment its presence was written.
 *
 * Event k is a presence of session k mod `sessions`, available on even
 * passes over the sessions and unavailable on odd ones, so every presence
 * is a transition that notifies, exactly once, in order. Each notification
 * is checked against the event it answers (user and presence, in order);
 * any mismatch is a correctness failure.
 */

export const SERVER_USER = "world";
export const USER_DOMAIN = "world.example.com";

export const sessionJid = (i: number) => `flux.actor.${100_000 + i}@${USER_DOMAIN}/sim-${i % 8}`;

// A client's broadcast presence as Prosody forwards it: priority and entity caps (XEP-0115).
const availableStanza = (jid: string, to: string) =>
  `<presence from="${jid}" to="${to}" xmlns="jabber:component:accept"><priority>0</priority><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="https://flux.example/sim" ver="QgayPKawpkPSDYmwT/WM94uAlu0="/></presence>`;
const unavailableStanza = (jid: string, to: string) =>
  `<presence type="unavailable" from="${jid}" to="${to}" xmlns="jabber:component:accept"/>`;

export interface RunResult {
  events: number;
  notifications: number;
  seconds: number;
  /** ms from presence written to notification read (paced runs only). */
  latencies?: Float64Array;
  failure?: string;
}

export class FakeComponentServer {
  readonly secret = randomBytes(12).toString("hex");
  private server: Server | undefined;
  private socket: Socket | undefined;
  private streamId = "";
  private pending = "";
  private authed = false;
  private readonly stanzas: { available: string[]; unavailable: string[] };
  private onAuthed: (() => void) | undefined;
  // Progress of the current run.
  private received = 0;
  private failure: string | undefined;
  private sentAt: Float64Array | undefined;
  private latencies: Float64Array | undefined;
  private onProgress: (() => void) | undefined;

  constructor(
    readonly componentDomain: string,
    readonly sessions: number,
  ) {
    const available: string[] = [];
    const unavailable: string[] = [];
    for (let i = 0; i < sessions; i++) {
      available.push(availableStanza(sessionJid(i), componentDomain));
      unavailable.push(unavailableStanza(sessionJid(i), componentDomain));
    }
    this.stanzas = { available, unavailable };
  }

  /** Listens on 127.0.0.1, on a free port; returns it. */
  async listen(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  }

  /** Resolves once a component has completed the handshake. */
  authenticated(): Promise<void> {
    if (this.authed) return Promise.resolve();
    return new Promise((resolve) => {
      this.onAuthed = resolve;
    });
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private stanza(k: number): string {
    const pass = Math.floor(k / this.sessions);
    const i = k % this.sessions;
    return ((pass & 1) === 0 ? this.stanzas.available : this.stanzas.unavailable)[i] ?? "";
  }

  private expected(k: number): { user: string; presence: string } {
    const pass = Math.floor(k / this.sessions);
    return {
      user: sessionJid(k % this.sessions),
      presence: (pass & 1) === 0 ? "available" : "unavailable",
    };
  }

  /** Closed loop: keeps `window` presences in flight until `events` are answered. */
  flood(events: number, window: number, firstEvent = 0): Promise<RunResult> {
    const socket = this.requireSocket();
    this.startRun(firstEvent);
    let written = 0;
    const started = performance.now();
    const top = () => {
      const free = window - (written - this.received);
      const room = Math.min(free, events - written);
      // Refill in batches of at least a quarter window (or 64), not one by one.
      if (room <= 0 || (free < Math.min(64, window / 4) && room < events - written)) return;
      let chunk = "";
      for (let j = 0; j < room; j++) chunk += this.stanza(firstEvent + written + j);
      written += room;
      if (chunk !== "") socket.write(chunk);
    };
    return new Promise((resolve) => {
      this.onProgress = () => {
        if (this.failure !== undefined || this.received >= events) {
          this.onProgress = undefined;
          resolve(this.result(events, started));
          return;
        }
        top();
      };
      top();
    });
  }

  /** Open loop: `rate` presences a second for `events` presences; latency per notification. */
  paced(events: number, rate: number, firstEvent = 0): Promise<RunResult> {
    const socket = this.requireSocket();
    this.startRun(firstEvent);
    const sentAt = new Float64Array(events);
    this.sentAt = sentAt;
    this.latencies = new Float64Array(events);
    let written = 0;
    const started = performance.now();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.onProgress = undefined;
        resolve(this.result(events, started));
      };
      // Whatever the schedule says is due by now goes out now, in one write.
      const tick = () => {
        const now = performance.now();
        const due = Math.min(events, Math.floor(((now - started) / 1000) * rate));
        let chunk = "";
        for (; written < due; written++) {
          chunk += this.stanza(firstEvent + written);
          // Latency counts from when the schedule says it is due, not from
          // when a busy event loop got round to writing it.
          sentAt[written] = started + (written * 1000) / rate;
        }
        if (chunk !== "") socket.write(chunk);
        // After the last write, the rest gets 10 s to come back.
        timer = written < events ? setTimeout(tick, 1) : setTimeout(finish, 10_000);
      };
      this.onProgress = () => {
        if (this.failure !== undefined || this.received >= events) finish();
      };
      tick();
    });
  }

  private startRun(firstEvent: number): void {
    this.received = 0;
    this.failure = undefined;
    this.sentAt = undefined;
    this.latencies = undefined;
    this.firstEvent = firstEvent;
  }

  private firstEvent = 0;

  private result(events: number, started: number): RunResult {
    const seconds = (performance.now() - started) / 1000;
    const failure =
      this.failure ??
      (this.received < events
        ? `only ${this.received} of ${events} notifications came back`
        : undefined);
    const out: RunResult = { events, notifications: this.received, seconds };
    if (this.latencies) out.latencies = this.latencies.subarray(0, this.received);
    if (failure !== undefined) out.failure = failure;
    return out;
  }

  private requireSocket(): Socket {
    if (!this.socket || !this.authed) throw new Error("no component is connected");
    return this.socket;
  }

  private accept(socket: Socket): void {
    if (this.socket) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding("utf8");
    socket.on("error", () => undefined);
    socket.on("data", (data: string) => this.read(data));
  }

  private read(data: string): void {
    this.pending += data;
    if (!this.authed) {
      this.handshake();
      return;
    }
    this.readNotifications();
  }

  private handshake(): void {
    const socket = this.socket;
    if (!socket) return;
    if (this.streamId === "" && this.pending.includes("<stream:stream")) {
      const end = this.pending.indexOf(">", this.pending.indexOf("<stream:stream"));
      if (end < 0) return;
      this.pending = this.pending.slice(end + 1);
      this.streamId = randomBytes(8).toString("hex");
      socket.write(
        `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' from='${this.componentDomain}' id='${this.streamId}'>`,
      );
    }
    const m = /<handshake>([0-9a-fA-F]+)<\/handshake>/.exec(this.pending);
    if (!m) return;
    this.pending = this.pending.slice((m.index ?? 0) + m[0].length);
    const want = handshakeDigest(this.streamId, this.secret);
    if (m[1]?.toLowerCase() !== want) {
      socket.end(
        "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
      );
      return;
    }
    this.authed = true;
    socket.write(
      `<handshake/><message from="${USER_DOMAIN}" to="${this.componentDomain}"><privilege xmlns="urn:xmpp:privilege:2"><perm access="presence" type="managed_entity"/></privilege></message>`,
    );
    this.onAuthed?.();
  }

  /** Every complete `<message>`: checked against the event it answers, in order. */
  private readNotifications(): void {
    const text = this.pending;
    let from = 0;
    for (;;) {
      const end = text.indexOf("</message>", from);
      if (end < 0) break;
      const start = text.indexOf("<message", from);
      this.check(text.slice(start, end));
      from = end + 10;
    }
    // Anything else (liveness pings, iq) is ignored; a partial stanza waits.
    const partial = text.indexOf("<", from);
    this.pending = partial < 0 ? "" : text.slice(partial);
    this.onProgress?.();
  }

  private check(message: string): void {
    const k = this.received;
    this.received++;
    const now = performance.now();
    if (this.sentAt && this.latencies && k < this.sentAt.length) {
      this.latencies[k] = now - (this.sentAt[k] ?? now);
    }
    if (this.failure !== undefined) return;
    const want = this.expected(this.firstEvent + k);
    const at = message.indexOf('"user":"');
    const user = at < 0 ? "" : message.slice(at + 8, message.indexOf('"', at + 8));
    const presenceAt = message.indexOf('"presence":"', at);
    const presence = message.slice(presenceAt + 12, message.indexOf('"', presenceAt + 12));
    if (user !== want.user || presence !== want.presence) {
      this.failure = `notification ${k}: got ${user} ${presence}, expected ${want.user} ${want.presence}`;
    } else if (!message.includes(` to="${SERVER_USER}@${USER_DOMAIN}"`)) {
      this.failure = `notification ${k} is not addressed to ${SERVER_USER}@${USER_DOMAIN}`;
    }
  }
}
