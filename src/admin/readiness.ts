import { hasPresencePermission, type Privileges } from "../protocol/privilege.js";
import type { Counters } from "../telemetry/counters.js";
import type { Link } from "../xmpp/component-link.js";

export type ReadinessState =
  | { readonly ready: true; readonly connected: true; readonly presencePrivilege: true }
  | {
      /** Presences come from a broker (MongooseIM): no XEP-0356 grant is needed. */
      readonly ready: true;
      readonly connected: true;
      readonly presencePrivilege: boolean;
      readonly broker: true;
    }
  | {
      readonly ready: false;
      readonly connected: boolean;
      readonly presencePrivilege: boolean;
      /** Only with a broker source: whether it is consuming. */
      readonly broker?: boolean;
      /** A standby waiting for the state file's lock (`standbyReadiness`). */
      readonly standby?: true;
      /** A sentence for the operator. */
      readonly reason: string;
    };

/**
 * A daemon standing by (`[standby] enabled`, src/app/standby.ts): another
 * daemon holds the state file, and this one tries its lock every
 * `pollIntervalMs`. Times are the clock's milliseconds.
 */
export interface StandbyStatus {
  /** The state file whose lock it waits for. */
  readonly path: string;
  /** When it began to wait. */
  readonly since: number;
  /** Attempts at the lock so far, the one at start included. */
  readonly attempts: number;
  readonly lastAttemptAt: number;
  readonly pollIntervalMs: number;
}

/** What /readyz says while standing by: not ready, and why, so a balancer or an alert can tell. */
export function standbyReadiness(status: StandbyStatus): ReadinessState {
  return {
    ready: false,
    connected: false,
    presencePrivilege: false,
    standby: true,
    reason: `standby: another daemon holds the state file ${status.path}; this one takes over when it is released (tried every ${status.pollIntervalMs} ms)`,
  };
}

/**
 * Whether the daemon can do its job: the component link is up AND, on this
 * connection, the server granted presence=managed_entity (XEP-0356 section
 * 4); without it no presence ever arrives. The service forgets the
 * privileges when a connection attempt begins; the grant is also compared
 * with what was there at that moment, so a grant counts only if it arrived
 * after the latest connection attempt began, whichever listener runs first.
 *
 * In durable mode it also needs the state file to take commits (a full
 * disk, an I/O error: `store`).
 *
 * It also counts link events: `link_connects` (every time the link came up)
 * and `reconnects` (every time after the first).
 */
export class Readiness {
  #before: Privileges | undefined;
  #connects = 0;

  constructor(
    private readonly source: {
      readonly link: Pick<Link, "online" | "on" | "off">;
      readonly privileges: () => Privileges | undefined;
      readonly counters: Counters;
      /**
       * With `[source.rabbitmq]`: whether the consumer is connected. Then
       * readiness is the component link plus the broker, because MongooseIM
       * never grants XEP-0356 and presences come from the broker.
       */
      readonly broker?: () => boolean;
      /**
       * Durable mode: why the state file cannot be written now, if it
       * cannot. Then the daemon is not ready: it keeps what it could not
       * commit and holds broker messages until the file takes commits.
       */
      readonly store?: () => string | undefined;
    },
  ) {
    // Attached after the daemon started: if the first attempt already began,
    // the advertisement it brings is still new (none came before it).
    source.link.on("connecting", this.#connecting);
    source.link.on("online", this.#online);
    if (source.link.online) this.#online();
  }

  readonly #connecting = () => {
    this.#before = this.source.privileges();
  };

  readonly #online = () => {
    this.#connects += 1;
    this.source.counters.inc("link_connects");
    if (this.#connects > 1) this.source.counters.inc("reconnects");
  };

  state(): ReadinessState {
    const connected = this.source.link.online;
    const granted = this.source.privileges();
    const fresh = granted !== undefined && granted !== this.#before;
    const presencePrivilege = fresh && hasPresencePermission(granted);
    const store = this.source.store?.();
    if (this.source.broker) {
      const broker = this.source.broker();
      if (connected && broker && store === undefined) {
        return { ready: true, connected, presencePrivilege, broker };
      }
      let reason: string;
      if (!connected) reason = "not connected to the XMPP server";
      else if (!broker) reason = "not consuming presence events from the RabbitMQ broker";
      else reason = store ?? "";
      return { ready: false, connected, presencePrivilege, broker, reason };
    }
    if (connected && presencePrivilege && store === undefined) {
      return { ready: true, connected: true, presencePrivilege: true };
    }
    let reason: string;
    if (!connected) reason = "not connected to the XMPP server";
    else if (!fresh) reason = "connected, but the server has not advertised privileges (XEP-0356)";
    else if (!presencePrivilege) {
      reason =
        "the server did not grant presence=managed_entity (XEP-0356): no presence will arrive";
    } else reason = store ?? "";
    return { ready: false, connected, presencePrivilege, reason };
  }

  close(): void {
    this.source.link.off("connecting", this.#connecting);
    this.source.link.off("online", this.#online);
  }
}
