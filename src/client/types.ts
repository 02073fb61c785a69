import type { Clock } from "../otp/clock.js";

/**
 * The public surface of `presence-notify/client`: what a world server
 * programs against. Nothing here names xmpp.js, so the declarations
 * type-check in a consumer's project as they are (no skipLibCheck needed).
 */

export type { Clock };

export type Presence = "available" | "unavailable";

export interface PresenceClientOptions {
  /** Where the XMPP server's client port is: `xmpp://host:5222`, `xmpps://host:5223`, `wss://host/ws`. */
  readonly service: string;
  /** The server user's bare JID, `world@example.com` (notifications go to its domain's users). */
  readonly jid: string;
  readonly password: string;
  /** Default `presence-client-<random>`: several consumers may share the server user. */
  readonly resource?: string;
  /** The daemon's component JID, `presence.example.com`: notifications are accepted from it only. */
  readonly component: string;
  /**
   * `"component"` (default): notifications come from the component's JID.
   * `"user"`: the daemon runs with `from = "user"` (XEP-0356), so each comes
   * from the bare JID of the user it is about; resync signals and snapshots
   * still come from the component.
   */
  readonly from?: "component" | "user";
  /** With `[signing]` on the daemon: key id -> secret. Unsigned or badly signed notifications are refused. */
  readonly signingKeys?: ReadonlyMap<string, string | Uint8Array>;
  /**
   * The daemon runs in durable mode with `notify.sequence = "session"`, so
   * `seq` goes on across its restarts: a lower one is always a late resend.
   * Default false: a `seq` of 1 is taken as a restarted count (memory mode),
   * so a late resend of a session's very first notification is applied.
   * Irrelevant with snapshots on: `pos` orders.
   */
  readonly durableSeq?: boolean;
  /** Sessions asked for per snapshot page (XEP-0059 `<max>`); the daemon may send fewer. Default 500. */
  readonly pageSize?: number;
  /** How many traces (and sessions' last positions) are remembered to drop resends. Default 100,000. */
  readonly window?: number;
  /** Notifications kept while a snapshot is paged; past it the snapshot starts over. Default 1,000,000. */
  readonly bufferLimit?: number;
  /** Reconnect backoff in ms: `initial * 2^(n-1)` capped at `max`, minus up to 20 % jitter. */
  readonly reconnect?: { readonly initial?: number; readonly max?: number };
  /** How long an IQ (disco#info, a snapshot page) or a login may take, ms. Default 30,000. */
  readonly timeout?: number;
  /** Force a SASL mechanism (`PLAIN` over plaintext loopback); default: xmpp.js's choice. */
  readonly sasl?: string;
  /** Time, injectable for tests. Default: the system clock. */
  readonly clock?: Clock;
  /** Jitter source in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** One session coming online or going offline in the client's view. */
export interface PresenceChange {
  /** The session's full JID (or pseudonym, or bare JID with `notify.level = "user"`), as sent. */
  readonly user: string;
  readonly presence: Presence;
  /**
   * `notification`: a notification applied; `snapshot`: the difference a
   * new snapshot made to the view (after a reconnect or a resync signal).
   */
  readonly cause: "notification" | "snapshot";
  /** The notification's fields when it came from one (`trace`, and `pos`, `seq`, `ts`, `reason`, `resources` when sent). */
  readonly trace?: string;
  readonly pos?: number;
  readonly seq?: number;
  readonly ts?: number;
  readonly reason?: string;
  readonly resources?: number;
}

/** The view replaced by a snapshot: every session online at `position`, plus what came after it. */
export interface SnapshotEvent {
  /** Why it was taken: the (re)connect, or the daemon's resync signal (its reason). */
  readonly trigger: "connect" | "resync" | "restart";
  /** With a resync signal: its `reason` (`daemon-start`, `takeover`, `dead-letter`, ...). */
  readonly reason?: string;
  readonly position: number;
  readonly epoch?: string;
  /** The sessions of the snapshot itself (before notifications buffered during paging are applied). */
  readonly sessions: readonly string[];
}

export interface ClientHealth {
  /** Logged in and bound. */
  readonly connected: boolean;
  /** `connecting`, `backoff`, `probing`, `paging`, `live` (spliced), `unspliced` (no snapshot feature), `stopped`, `failed`. */
  readonly phase: string;
  /** What disco#info said on this connection; undefined before it answered. */
  readonly snapshotSupported: boolean | undefined;
  readonly lastSnapshotPosition: number | undefined;
  readonly lastSnapshotAt: number | undefined;
  readonly online: number;
  readonly snapshots: number;
  /** Resync signals received from the daemon (each leads to a new snapshot unless one being paged covers it). */
  readonly resyncs: number;
  readonly reconnects: number;
  /** Notifications dropped because their trace had been seen (resends). */
  readonly duplicatesDropped: number;
  /** Notifications dropped by position: at or before the snapshot, or older than one applied. */
  readonly staleDropped: number;
  /** Applied but changing nothing (already in that state). */
  readonly redundant: number;
  /** Stanzas refused: from a sender other than the daemon, malformed, or failing verification. */
  readonly refused: number;
  readonly receiptsSent: number;
  /** Notifications held while a snapshot is paged. */
  readonly buffered: number;
  readonly lastError: string | undefined;
}

/** Listeners run synchronously; one that throws is rethrown outside the client (an uncaught exception). */
export interface PresenceClientEvents {
  change: [PresenceChange];
  snapshot: [SnapshotEvent];
  /** A problem worth a log line (a refused stanza, a failed login); the client goes on. */
  warning: [string];
  /** The client gave up (the server refused the credentials) and stopped. */
  fatal: [Error];
  /** Every phase change and connect/disconnect. */
  health: [ClientHealth];
}

export interface PresenceClient {
  /** Connects (and reconnects, with backoff, until `stop`). */
  start(): void;
  stop(): Promise<void>;
  /** The live view: every session online now. Read-only; it changes as the client runs. */
  online(): ReadonlySet<string>;
  isOnline(user: string): boolean;
  health(): ClientHealth;
  on<E extends keyof PresenceClientEvents>(
    event: E,
    listener: (...args: PresenceClientEvents[E]) => void,
  ): this;
  off<E extends keyof PresenceClientEvents>(
    event: E,
    listener: (...args: PresenceClientEvents[E]) => void,
  ): this;
}
