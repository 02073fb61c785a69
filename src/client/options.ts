import { randomBytes } from "node:crypto";
import { type Clock, systemClock } from "../otp/clock.js";
import type { PresenceClientOptions } from "./types.js";

/**
 * The client's options, checked once when it is made: a mistake is an
 * `InvalidClientOptions` with a sentence naming the option, never a
 * connection that fails later for a reason nobody can see.
 */
export class InvalidClientOptions extends Error {
  readonly _tag = "InvalidClientOptions";
}

export interface ClientSettings {
  readonly service: string;
  readonly local: string;
  readonly domain: string;
  /** The server user's bare JID. */
  readonly bare: string;
  readonly password: string;
  readonly resource: string;
  readonly component: string;
  readonly from: "component" | "user";
  readonly signingKeys: ReadonlyMap<string, string | Uint8Array> | undefined;
  readonly durableSeq: boolean;
  readonly pageSize: number;
  readonly window: number;
  readonly bufferLimit: number;
  readonly reconnect: { readonly initial: number; readonly max: number };
  readonly timeoutMs: number;
  readonly sasl: string | undefined;
  readonly clock: Clock;
  readonly random: () => number;
}

const fail = (message: string): never => {
  throw new InvalidClientOptions(message);
};

// No whitespace, control characters or the JID separators (RFC 7622 section 3).
const PART = /^[^\s\p{Cc}@/]+$/u;

function whole(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${name} must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return n;
}

export function resolveClientOptions(o: PresenceClientOptions): ClientSettings {
  if (!/^(xmpps?|wss?):\/\/[^/\s]+/.test(o.service ?? "")) {
    fail(
      `service must be a URL like xmpp://host:5222, xmpps://host:5223 or wss://host/ws (got "${o.service}")`,
    );
  }
  const [local = "", domain = "", ...rest] = (o.jid ?? "").split("@");
  if (rest.length > 0 || !PART.test(local) || !PART.test(domain)) {
    fail(`jid must be the server user's bare JID, like world@example.com (got "${o.jid}")`);
  }
  if (typeof o.password !== "string" || o.password === "") fail("password must not be empty");
  if (!PART.test(o.component ?? "")) {
    fail(
      `component must be the daemon's component JID, like presence.example.com (got "${o.component}")`,
    );
  }
  const resource = o.resource ?? `presence-client-${randomBytes(4).toString("hex")}`;
  if (resource.trim() === "" || /\p{Cc}/u.test(resource)) fail("resource must be printable text");
  const from = o.from ?? "component";
  if (from !== "component" && from !== "user")
    fail(`from must be "component" or "user" (got "${from}")`);
  if (o.signingKeys !== undefined && o.signingKeys.size === 0) {
    fail("signingKeys must hold at least one key (or be left out when the daemon does not sign)");
  }
  const initial = whole("reconnect.initial", o.reconnect?.initial, 1_000, 1, 3_600_000);
  const max = whole("reconnect.max", o.reconnect?.max, 60_000, initial, 86_400_000);
  return {
    service: o.service,
    local,
    domain,
    bare: `${local}@${domain}`,
    password: o.password,
    resource,
    component: o.component,
    from,
    signingKeys: o.signingKeys,
    durableSeq: o.durableSeq === true,
    pageSize: whole("pageSize", o.pageSize, 500, 1, 100_000),
    window: whole("window", o.window, 100_000, 1, 100_000_000),
    bufferLimit: whole("bufferLimit", o.bufferLimit, 1_000_000, 1, 100_000_000),
    reconnect: { initial, max },
    timeoutMs: whole("timeout", o.timeout, 30_000, 1, 3_600_000),
    sasl: o.sasl,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
  };
}
