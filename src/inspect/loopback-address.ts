import { isIP } from "node:net";

/**
 * Where `start --inspect[=HOST:PORT]` listens. The inspector streams every
 * session's full JID and presence to whoever connects, without any
 * authentication, so it is for this machine only: a host that is not a
 * loopback address is refused rather than bound (reach it from elsewhere
 * through an SSH tunnel, `ssh -L 8088:127.0.0.1:8088 host`).
 */

export interface InspectAddress {
  /** A loopback IP literal: 127.x.y.z or ::1. */
  host: string;
  /** 0 asks the system for a free port (the logged URL says which). */
  port: number;
}

export const DEFAULT_INSPECT_ADDRESS: InspectAddress = { host: "127.0.0.1", port: 8088 };

export class InvalidInspectAddress extends Error {
  readonly _tag = "InvalidInspectAddress";
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`--inspect=${value}: ${reason}`);
    this.name = "InvalidInspectAddress";
  }
}

const isLoopback = (host: string): boolean =>
  (isIP(host) === 4 && host.startsWith("127.")) || (isIP(host) === 6 && host === "::1");

/**
 * `""` (bare `--inspect`): the default. `PORT`, `HOST:PORT` or `[::1]:PORT`.
 * `localhost` is read as 127.0.0.1 so the address bound is the one logged,
 * whatever the resolver prefers.
 */
export function parseInspectAddress(value: string): InspectAddress {
  if (value === "") return DEFAULT_INSPECT_ADDRESS;
  const match = /^(?:\[([^\]]+)\]:|([^:]*):)?(\d{1,5})$/.exec(value);
  if (!match) {
    throw new InvalidInspectAddress(value, "expected HOST:PORT, e.g. 127.0.0.1:8088");
  }
  const port = Number(match[3]);
  if (port > 65_535) throw new InvalidInspectAddress(value, "the port must be 0-65535");
  const given = match[1] ?? match[2] ?? DEFAULT_INSPECT_ADDRESS.host;
  const host = given === "" || given === "localhost" ? DEFAULT_INSPECT_ADDRESS.host : given;
  if (!isLoopback(host)) {
    throw new InvalidInspectAddress(
      value,
      `${host} is not a loopback address; the inspector shows every session's JID to whoever connects, ` +
        "so it only listens on 127.0.0.1 or ::1 (use an SSH tunnel to look from another machine)",
    );
  }
  return { host, port };
}

/** `ws://127.0.0.1:8088` or `ws://[::1]:8088`. */
export function urlOf(scheme: "ws" | "http", address: InspectAddress): string {
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}
