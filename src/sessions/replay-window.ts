/**
 * Which delayed presences are the server's replay, on one connection.
 *
 * A XEP-0203 `<delay/>` proves nothing: a client can put one in its own
 * presence, even `from="localhost"`, and both servers forward it unchanged
 * (SERVERS.md). What a user cannot produce is where the replay sits in the
 * stream. Prosody's mod_privilege, on `component-authenticated`, writes its
 * `<message><privilege/></message>` advertisement and then the stored
 * presence of every available session, in the same synchronous handler as
 * `<handshake/>`: nothing else can come between them, and they reach us in
 * the read that carries the handshake, so before xmpp.js reports "online"
 * (it does so in a microtask after that read). Each replayed presence is the
 * session's last presence with a delay appended by mod_presence,
 * `from` = the user's own host. ejabberd replays nothing; its advertisement
 * goes through a hook and a gen_server cast, and users' presences are
 * forwarded only once it is sent.
 *
 * So the window:
 * - opens at this connection's advertisement, if it comes before "online";
 * - counts a presence stamped by the session's own server, of a served
 *   session, the first time that session is replayed since the last
 *   advertisement (Prosody lists each session once per advertisement, one
 *   advertisement per privileged host);
 * - ignores a stamped presence of a session not served (filtered, foreign):
 *   the server replays those too, so they neither count nor close it;
 * - closes at anything else (any other stanza, a session replayed twice),
 *   at "online" if nothing was counted before it, and `maxMs` after
 *   "online" in any case.
 * A stamped presence outside the window is a live presence.
 */
export type ReplayPhase = "awaiting-advertisement" | "open" | "closed";

export type ReplayInput =
  | { type: "advertisement" }
  | { type: "stamped"; session: string; served: boolean }
  | { type: "other" }
  | { type: "online"; at: number };

export class ReplayWindow {
  private phaseNow: ReplayPhase = "awaiting-advertisement";
  private onlineAt: number | undefined;
  private sinceAdvertisement = new Set<string>();
  /** Served sessions the window counted, over all its advertisements. */
  counted = 0;

  constructor(private readonly maxMs: number) {}

  /** The phase at `now`: an open window past its bound is closed. */
  phase(now: number): ReplayPhase {
    if (this.phaseNow === "open" && this.onlineAt !== undefined && now - this.onlineAt > this.maxMs)
      this.close();
    return this.phaseNow;
  }

  /** Applies one input; returns whether it was a replayed presence that counts. */
  take(input: ReplayInput, now: number): boolean {
    const phase = this.phase(now);
    switch (input.type) {
      case "advertisement":
        if (phase === "closed" || this.onlineAt !== undefined) this.close();
        else {
          this.phaseNow = "open";
          this.sinceAdvertisement = new Set();
        }
        return false;
      case "online":
        this.onlineAt = input.at;
        if (phase !== "open" || this.counted === 0) this.close();
        return false;
      case "other":
        this.close();
        return false;
      case "stamped":
        if (phase !== "open") {
          this.close();
          return false;
        }
        if (!input.served) return false;
        if (this.sinceAdvertisement.has(input.session)) {
          this.close();
          return false;
        }
        this.sinceAdvertisement.add(input.session);
        this.counted++;
        return true;
    }
  }

  private close(): void {
    this.phaseNow = "closed";
    this.sinceAdvertisement = new Set();
  }
}
