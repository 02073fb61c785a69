import { connect, type Socket } from "node:net";

/**
 * A minimal XMPP c2s client over `node:net`, for load benchmarks where an
 * @xmpp/client per session would cost more than the thing measured.
 *
 * It speaks just enough of RFC 6120 for a throwaway ejabberd on loopback
 * (no TLS offered, so SASL PLAIN in the clear is accepted): stream header,
 * SASL PLAIN (RFC 4616), stream restart, resource binding (RFC 6120 §7),
 * initial `<presence/>`, then answers XEP-0199 pings (§4.2: a result iq to
 * the pinging entity). Stanzas are cut out of the stream by counting tags,
 * not parsed: enough for what ejabberd sends, not a general XML parser.
 */

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";

export interface RawClientOptions {
  port: number;
  host?: string;
  domain: string;
  user: string;
  password: string;
  resource: string;
  /**
   * Send the initial `<presence/>` after binding (default true). Without it
   * the session is bound but unavailable (RFC 6121 §4.2): the server tells no
   * one about it until its first presence.
   */
  initialPresence?: boolean;
  /** Whole login (connect to initial presence) deadline; default 30 s. */
  timeoutMs?: number;
  /** Every stanza after login except the pings this client answers. */
  onStanza?: (stanza: string) => void;
}

/** Cuts a stream into top-level elements (the stanzas), skipping headers. */
export class StanzaSplitter {
  private buf = "";
  private pos = 0;
  private depth = 0;
  private start = 0;
  closed = false;

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    const b = this.buf;
    let i = this.pos;
    while (true) {
      const lt = b.indexOf("<", i);
      if (lt < 0) {
        i = b.length;
        break;
      }
      const gt = b.indexOf(">", lt);
      if (gt < 0) {
        i = lt;
        break;
      }
      const next = b.charCodeAt(lt + 1);
      if (next === 0x3f /* ? */ || (this.depth === 0 && b.startsWith("<stream:stream", lt))) {
        // XML declaration or stream header: not an element of the stream's content.
      } else if (this.depth === 0 && b.startsWith("</stream:stream", lt)) {
        this.closed = true;
      } else if (next === 0x2f /* / */) {
        this.depth--;
        if (this.depth === 0) out.push(b.slice(this.start, gt + 1));
      } else if (b.charCodeAt(gt - 1) === 0x2f) {
        if (this.depth === 0) out.push(b.slice(lt, gt + 1));
      } else {
        if (this.depth === 0) this.start = lt;
        this.depth++;
      }
      i = gt + 1;
    }
    // Keep only what an unfinished element still needs.
    const keep = this.depth > 0 ? this.start : i;
    this.buf = b.slice(keep);
    this.pos = i - keep;
    this.start -= keep;
    return out;
  }
}

/** The value of attribute `name` in the element's opening tag, as written (still escaped). */
export function attr(stanza: string, name: string): { value: string; quote: string } | undefined {
  const end = stanza.indexOf(">");
  const head = end < 0 ? stanza : stanza.slice(0, end);
  const m = new RegExp(`\\s${name}=(['"])(.*?)\\1`).exec(head);
  return m ? { quote: m[1] as string, value: m[2] as string } : undefined;
}

const streamHeader = (domain: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`;

export class RawXmppClient {
  /** Pings answered since login. */
  pingsAnswered = 0;
  /** When true, pings are read and ignored: a hung client behind an open socket. */
  mute = false;
  private readonly splitter = new StanzaSplitter();
  private waiter: ((stanza: string) => void) | undefined;
  private readonly early: string[] = [];
  private loggedIn = false;
  private failure: Error | undefined;
  private fail: ((err: Error) => void) | undefined;

  private constructor(
    readonly socket: Socket,
    readonly jid: string,
    private readonly onStanza: ((stanza: string) => void) | undefined,
  ) {}

  get open(): boolean {
    return !this.socket.destroyed;
  }

  /** Connects, authenticates, binds `resource` and sends initial presence. */
  static async login(o: RawClientOptions): Promise<RawXmppClient> {
    const socket = connect({ port: o.port, host: o.host ?? "127.0.0.1", noDelay: true });
    socket.setEncoding("utf8");
    const client = new RawXmppClient(socket, `${o.user}@${o.domain}/${o.resource}`, o.onStanza);
    const timeoutMs = o.timeoutMs ?? 30_000;
    const timer = setTimeout(
      () => client.abort(new Error(`login of ${client.jid} took over ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on("data", (chunk: string) => client.receive(chunk));
    socket.on("error", (err) => client.abort(err));
    socket.on("close", () => client.abort(new Error(`connection of ${client.jid} closed`)));
    try {
      await new Promise<void>((resolve, reject) => {
        client.fail = reject;
        socket.once("connect", resolve);
      });
      await client.handshake(o);
      client.loggedIn = true;
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(o: RawClientOptions): Promise<void> {
    this.socket.write(streamHeader(o.domain));
    const features = await this.next();
    if (!features.startsWith("<stream:features") || !features.includes(">PLAIN<")) {
      throw new Error(`${this.jid}: no SASL PLAIN offered: ${features.slice(0, 300)}`);
    }
    const token = Buffer.from(`\0${o.user}\0${o.password}`).toString("base64");
    this.socket.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${token}</auth>`);
    const outcome = await this.next();
    if (!outcome.startsWith("<success")) {
      throw new Error(`${this.jid}: authentication failed: ${outcome.slice(0, 300)}`);
    }
    // RFC 6120 §6.4.6: after SASL success the client restarts the stream.
    this.socket.write(streamHeader(o.domain));
    const bindFeatures = await this.next();
    if (!bindFeatures.includes(NS_BIND)) {
      throw new Error(`${this.jid}: no resource binding offered: ${bindFeatures.slice(0, 300)}`);
    }
    this.socket.write(
      `<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>${o.resource}</resource></bind></iq>`,
    );
    let bound = await this.next();
    while (attr(bound, "id")?.value !== "bind1") bound = await this.next();
    if (attr(bound, "type")?.value !== "result") {
      throw new Error(`${this.jid}: bind failed: ${bound.slice(0, 300)}`);
    }
    if (o.initialPresence !== false) this.socket.write("<presence/>");
  }

  private next(): Promise<string> {
    const queued = this.early.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.fail = reject;
    });
  }

  private abort(err: Error): void {
    this.failure ??= err;
    const fail = this.fail;
    this.fail = undefined;
    this.waiter = undefined;
    fail?.(err);
  }

  private receive(chunk: string): void {
    for (const stanza of this.splitter.push(chunk)) {
      if (!this.loggedIn) {
        if (stanza.startsWith("<stream:error")) {
          this.abort(new Error(`${this.jid}: stream error: ${stanza.slice(0, 300)}`));
          continue;
        }
        const waiter = this.waiter;
        this.waiter = undefined;
        if (waiter) waiter(stanza);
        else this.early.push(stanza);
      } else if (stanza.startsWith("<iq") && stanza.includes("urn:xmpp:ping")) {
        this.answerPing(stanza);
      } else {
        this.onStanza?.(stanza);
      }
    }
  }

  // XEP-0199 §4.2: the client answers a ping with an empty result to its sender.
  private answerPing(iq: string): void {
    if (this.mute || attr(iq, "type")?.value !== "get") return;
    const id = attr(iq, "id");
    const from = attr(iq, "from");
    if (!id || !from) return;
    this.pingsAnswered++;
    this.socket.write(
      `<iq type='result' id=${id.quote}${id.value}${id.quote} to=${from.quote}${from.value}${from.quote}/>`,
    );
  }

  /** The socket dies without a goodbye (what a crashed client or lost network looks like). */
  drop(): void {
    this.socket.destroy();
  }

  /** Ends the stream politely. */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end("<presence type='unavailable'/></stream:stream>");
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2_000).unref();
    });
  }
}
