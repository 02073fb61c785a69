import { isLoopback } from "../config/listen.js";

/**
 * DNS rebinding (a web page whose own name was made to resolve to
 * 127.0.0.1) reaches a loopback listener with that name in its Host header;
 * a browser always sends Host. So a loopback listener answers only Host
 * values that name this machine: localhost, a 127.x.y.z or ::1 literal, or
 * the configured host. The port is not compared: a rebinding page cannot
 * choose a loopback name, and an SSH tunnel (`ssh -L 9000:127.0.0.1:9464`)
 * presents its own local port. No Host at all (HTTP/1.0 tools; Node refuses
 * it on HTTP/1.1) is no browser.
 */
export function loopbackHost(header: string | undefined, configured: string): boolean {
  if (header === undefined) return true;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*))(?::\d{1,5})?$/.exec(header);
  const name = match?.[1] ?? match?.[2];
  if (name === undefined || name === "") return false;
  const lower = name.toLowerCase();
  return lower === configured.toLowerCase() || isLoopback(lower);
}

/**
 * Whether a browser page's `Origin` is the listener's own: `http://` and the
 * very Host the request was sent to (RFC 6454 section 7: scheme, host and
 * port). Any other page, even one served from another port of this machine,
 * is another origin.
 */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  return host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}
