import { isIP } from "node:net";

/**
 * `admin.listen`: where the admin HTTP listener binds, as "host:port"
 * ("127.0.0.1:9464", "[::1]:9464", "localhost:0"), or "off". Port 0 asks the
 * system for a free port (the daemon logs the one it got).
 */

export interface ListenAddress {
  /** As given, without brackets for IPv6: what `server.listen` takes. */
  readonly host: string;
  readonly port: number;
}

export const LISTEN_FORM = '"host:port", such as "127.0.0.1:9464", or "off"';

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[^\s/:@[\]?#]+):([0-9]{1,5})$/;

/** The address in `value`; `undefined` for "off". */
export function parseListen(
  value: string,
): { ok: true; address: ListenAddress | undefined } | { ok: false; reason: string } {
  if (value === "off") return { ok: true, address: undefined };
  const match = LISTEN.exec(value);
  if (match === null) {
    return { ok: false, reason: `must be ${LISTEN_FORM}; got ${JSON.stringify(value)}` };
  }
  const [, rawHost = "", rawPort = ""] = match;
  const port = Number(rawPort);
  if (port > 65_535) {
    return { ok: false, reason: `has port ${port}; a port is 0 (any free one) to 65535` };
  }
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith("[") && isIP(host) !== 6) {
    return { ok: false, reason: `has ${rawHost}, which is not an IPv6 address` };
  }
  return { ok: true, address: { host, port } };
}

/**
 * Whether only this machine can reach `host`: 127.0.0.0/8, ::1 (also as
 * ::ffff:127.x.y.z) or the name "localhost" (RFC 6761 6.3: it resolves to
 * loopback only). Any other name may resolve to anything, so it is not.
 */
export function isLoopback(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === "localhost") return true;
  if (isIP(lower) === 4) return lower.startsWith("127.");
  if (isIP(lower) === 6) {
    if (lower === "::1" || lower === "0:0:0:0:0:0:0:1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped?.[1]?.startsWith("127.") ?? false;
  }
  return false;
}

/** "http://127.0.0.1:9464", with brackets around an IPv6 host. */
export function urlOf(address: ListenAddress): string {
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}
