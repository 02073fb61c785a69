import { createHash, timingSafeEqual } from "node:crypto";
import type { Secret } from "../config/redacted.js";

/**
 * `admin.token`: every endpoint but /healthz demands it. Tools send
 * `Authorization: Bearer <token>` (RFC 6750 section 2.1); a browser, which
 * cannot add a header to a page load or an EventSource, sends it as the
 * password of HTTP Basic (RFC 7617), any user name, after the 401's
 * challenge made it ask once.
 */

export const CHALLENGES = ['Basic realm="presence-notify admin", charset="UTF-8"', "Bearer"];

export function authorized(header: string | undefined, token: Secret | undefined): boolean {
  if (token === undefined) return true;
  const given = presented(header);
  return given !== undefined && sameText(given, token.value());
}

function presented(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if (scheme === "bearer") return credentials;
  if (scheme === "basic") {
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/**
 * Constant time in the token's content: both sides are hashed first, so the
 * comparison always runs over 32 bytes and a length mismatch leaks nothing.
 */
function sameText(a: string, b: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}
