import { hasPresencePermission, type Privileges } from "../protocol/privilege.js";

/**
 * Which user domains the daemon serves, and whose privilege advertisements
 * (XEP-0356 section 4) it believes, on the current component connection.
 *
 * With `notify.domains` set, exactly those. With it empty, the server's own
 * hosts, as the server tells them: the hosts that advertised
 * presence=managed_entity on this connection. A remote server can route a
 * `<message from="evil.example"><privilege/>` or its users' directed
 * presences to the component over s2s; neither may make its domain served
 * (each presence would be a tracked session) nor replace our privileges.
 *
 * What tells the server's advertisements from a remote one: the server
 * sends them at the handshake, in one burst with its presence replay
 * (Prosody: for each host, its advertisement then the current presences;
 * ejabberd: the advertisements alone; SERVERS.md). So a host not seen
 * before is believed only while that burst lasts: until the first stanza
 * that is neither an advertisement nor a presence, and never after
 * `quietMs` (counted from "online") without an advertisement or a presence
 * of an advertised host. Later advertisements are believed
 * only from a host that already advertised on this connection.
 *
 * Until a host has advertised presence (a server without XEP-0356, such as
 * MongooseIM with presences from the broker), the one domain served is the
 * component's parent: presence.example.com serves example.com.
 */
export class ServedDomains {
  private readonly advertised = new Set<string>();
  private readonly presenceHosts = new Set<string>();
  private bursting = true;
  /** When the burst was last heard from; undefined until the link is up. */
  private lastBurstAt: number | undefined;

  constructor(
    private readonly deps: {
      /** `notify.domains`, read on every call so a reload applies at once. */
      configured: () => readonly string[];
      /** The component's own domain (XEP-0114). */
      component: () => string;
      now: () => number;
      /** How long the connect-time burst may stay quiet and still be one. */
      quietMs: number;
    },
  ) {}

  /** A new connection attempt: nothing advertised on it yet. */
  connecting(): void {
    this.advertised.clear();
    this.presenceHosts.clear();
    this.bursting = true;
    this.lastBurstAt = undefined;
  }

  /**
   * The handshake is done. The quiet time counts from here, not from the
   * attempt's start: a slow connect or handshake (a loaded server, a long
   * path) must not end the burst before the server could send it, and what
   * comes before "online" came with the handshake.
   */
  online(): void {
    this.lastBurstAt = this.deps.now();
  }

  /** An advertisement from `host`: whether to believe it (and, if so, take it into account). */
  advertisement(host: string, granted: Privileges): boolean {
    const configured = this.deps.configured();
    if (configured.length > 0) return configured.includes(host);
    const known = this.advertised.has(host);
    if (!known && !this.inBurst()) return false;
    this.advertised.add(host);
    if (hasPresencePermission(granted)) this.presenceHosts.add(host);
    else this.presenceHosts.delete(host);
    this.heard();
    return true;
  }

  /**
   * Any other stanza from the server: a part of the burst, or its end. A
   * presence belongs to the burst whatever its host: Prosody's replay for
   * one host carries every host's sessions (seen with two VirtualHosts: one
   * host's advertisement, a presence of the other host's user, then the
   * other host's advertisement). Only a presence of an advertised host keeps
   * the burst going, so a remote server's presences cannot stretch it.
   */
  stanza(name: string, from: string | undefined): void {
    if (!this.inBurst()) return;
    if (name === "presence") {
      if (this.advertised.has(domainOf(from))) this.heard();
      return;
    }
    this.bursting = false;
  }

  /** Whether a presence from a user of `domain` may become a tracked session. */
  serves(domain: string): boolean {
    const configured = this.deps.configured();
    if (configured.length > 0) return configured.includes(domain);
    if (this.presenceHosts.size > 0) return this.presenceHosts.has(domain);
    return domain === parentDomain(this.deps.component());
  }

  private heard(): void {
    if (this.lastBurstAt !== undefined) this.lastBurstAt = this.deps.now();
  }

  private inBurst(): boolean {
    const since = this.lastBurstAt;
    if (this.bursting && since !== undefined && this.deps.now() - since > this.deps.quietMs) {
      this.bursting = false;
    }
    return this.bursting;
  }
}

/** `presence.example.com` -> `example.com`; a one-label domain has no parent. */
export function parentDomain(domain: string): string | undefined {
  const dot = domain.indexOf(".");
  return dot < 0 || dot === domain.length - 1 ? undefined : domain.slice(dot + 1);
}

/** The domain of `local@domain/resource` (or of a bare `domain`), without checking it. */
function domainOf(jid: string | undefined): string {
  if (jid === undefined) return "";
  const at = jid.indexOf("@");
  const slash = jid.indexOf("/", at + 1);
  return jid.slice(at + 1, slash < 0 ? undefined : slash);
}
