/**
 * Host names: the component's domain, the user domains it serves, and the
 * host in `component.service`. Each check returns why a value is refused, as a
 * clause, or undefined when it is fine.
 */

const LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/**
 * An XMPP domainpart (RFC 7622 section 3.2) written as a DNS name: dot-separated
 * labels of letters, digits and inner hyphens. Lower case only, because the
 * server compares domains after case-folding and a "Example.com" here would
 * never equal the "example.com" the server sends.
 */
export function domainProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  if (value.length > 253) return `it is ${value.length} characters long; the limit is 253`;
  if (value !== value.normalize("NFKC")) return "it changes under Unicode NFKC normalisation";
  if (value !== value.toLowerCase()) {
    return `it contains upper-case letters; XMPP domains are compared in lower case, so write ${JSON.stringify(value.toLowerCase())}`;
  }
  for (const label of value.split(".")) {
    if (label === "") return "it has an empty label (two dots in a row, or a dot at either end)";
    if (!LABEL.test(label)) {
      return `its label ${JSON.stringify(label)} is not made of letters, digits and inner hyphens (at most 63)`;
    }
  }
  return undefined;
}

export interface ServiceAddress {
  readonly scheme: "xmpp" | "tcp";
  readonly host: string;
  readonly port: number;
}

const SERVICE = /^(xmpp|tcp):\/\/(\[[0-9A-Fa-f:.]+\]|[^\s/:@[\]?#]+):([0-9]{1,5})$/;
const IPV4 = /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$/;

export const SERVICE_FORM =
  '"xmpp://host:port" or "tcp://host:port", such as "xmpp://127.0.0.1:5347"';

/** Parse `xmpp://host:port` / `tcp://host:port` (XEP-0114 component address), or say why not. */
export function parseService(
  value: string,
): { ok: true; address: ServiceAddress } | { ok: false; reason: string } {
  const match = SERVICE.exec(value);
  if (match === null) {
    return { ok: false, reason: `must be ${SERVICE_FORM}; got ${JSON.stringify(value)}` };
  }
  const [, scheme, host = "", portText = ""] = match;
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    return { ok: false, reason: `has port ${portText}; a port is a number from 1 to 65535` };
  }
  if (IPV4.test(host)) {
    if (host.split(".").some((octet) => Number(octet) > 255)) {
      return { ok: false, reason: `has host ${host}, which is not a valid IPv4 address` };
    }
  } else if (!host.startsWith("[")) {
    const problem = domainProblem(host.toLowerCase());
    if (problem !== undefined) {
      return {
        ok: false,
        reason: `has host ${JSON.stringify(host)}, which is not a host name: ${problem}`,
      };
    }
  }
  return { ok: true, address: { scheme: scheme as "xmpp" | "tcp", host, port } };
}
