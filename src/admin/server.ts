import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isLoopback, type ListenAddress, urlOf } from "../config/listen.js";
import type { Secret } from "../config/redacted.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import { authorized, CHALLENGES } from "./auth.js";
import { loopbackHost } from "./host-header.js";

/**
 * The admin HTTP listener (node:http, no framework): it binds, checks the
 * method, the path and the token, and hands the request to a route. What
 * the routes say is `app.ts`'s business.
 *
 * It binds before the daemon connects, so a port in use stops the start
 * with a clear error instead of a daemon nobody can watch. Until `serve`,
 * every request gets 503.
 */

export type Route = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Routes {
  readonly [path: string]: Route;
}

/** Paths that answer without the token: liveness probes must not need a secret. */
const OPEN_PATHS = new Set(["/healthz"]);

export class AdminListenError extends Error {
  readonly _tag = "AdminListenError";
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "AdminListenError";
  }
}

export const isAdminListenError = (err: unknown): err is AdminListenError =>
  err instanceof AdminListenError;

export interface AdminServer {
  /** "http://127.0.0.1:PORT", with the port actually bound. */
  readonly url: string;
  /** Starts answering with `routes`; failures and refusals count in `counters`. */
  serve(routes: Routes, counters?: Pick<Counters, "inc">): void;
  /** Stops listening and ends open connections (event streams included). */
  close(): Promise<void>;
}

export async function listenAdmin(options: {
  readonly listen: ListenAddress;
  readonly token: Secret | undefined;
  readonly logger: Logger;
}): Promise<AdminServer> {
  const { listen, token, logger } = options;
  let routes: Routes | undefined;
  let counters: Pick<Counters, "inc"> | undefined;
  const limiter = new LogLimiter(16);
  const checkHost = isLoopback(listen.host);
  /** A request that threw: counted, logged 1st, 2nd, 4th... per `key`, answered 500. */
  const failed = (key: string, res: ServerResponse, err: unknown, context: object) => {
    counters?.inc("admin_request_errors");
    const hit = limiter.hit(key);
    if (hit.log) {
      logger.warn(
        { ...context, err: excerpt((err as Error)?.message ?? String(err)), count: hit.count },
        "admin request failed",
      );
    }
    try {
      if (!res.headersSent) reply(res, 500, { error: "internal error" });
      else res.end();
    } catch {
      res.destroy();
    }
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (checkHost && !loopbackHost(req.headers.host, listen.host)) {
      counters?.inc("admin_requests_wrong_host");
      return reply(res, 421, {
        error:
          "the Host header must name this machine (localhost, 127.0.0.1 or [::1]): the admin listener is on loopback",
      });
    }
    const path = pathOf(req.url);
    if (path === undefined) {
      return reply(res, 400, { error: "the request target must be a path, such as /healthz" });
    }
    const route =
      routes === undefined ? undefined : Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (routes === undefined) return reply(res, 503, { error: "starting" });
    if (route === undefined)
      return reply(res, 404, { error: `no such endpoint: ${excerpt(path)}` });
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return reply(res, 405, { error: `${excerpt(req.method)} is not allowed; use GET` });
    }
    if (!OPEN_PATHS.has(path) && !authorized(req.headers.authorization, token)) {
      res.setHeader("www-authenticate", CHALLENGES);
      return reply(res, 401, { error: "a valid admin.token is required" });
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => failed(`route ${path}`, res, err, { path }));
  };
  // Everything input reaches runs inside this try: a throw answers 500, never
  // reaches the process.
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      failed("request", res, err, { method: excerpt(req.method), target: excerpt(req.url) });
    }
  });
  // A scraper's keep-alive connection must not hold the shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(new AdminListenError(err.code, `admin.listen ${urlOf(listen)}: ${why(err)}`));
    });
    server.listen(listen.port, listen.host, resolve);
  });
  server.on("error", (err) => logger.error({ err: err.message }, "admin listener error"));
  const bound = server.address() as AddressInfo;
  const url = urlOf({ host: listen.host, port: bound.port });
  logger.info({ url, auth: token === undefined ? "none" : "bearer token" }, "admin listening");
  return {
    url,
    serve(next, count) {
      routes = next;
      counters = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A JSON body, or none for HEAD. */
export function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function why(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "EADDRINUSE":
      return "the port is already in use by another process; choose another port, or stop that process";
    case "EACCES":
      return "permission denied (a port below 1024 needs privileges)";
    case "EADDRNOTAVAIL":
      return "this machine has no such address";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    default:
      return err.message;
  }
}

/**
 * The path of a request target (RFC 9112 section 3.2): origin-form
 * ("/status?x") or absolute-form ("http://host/status"); anything else
 * ("*", "//a:99999", "a") is undefined. Never throws: the target is input.
 */
export function pathOf(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  if (target.startsWith("/") && !target.startsWith("//")) return target.split(/[?#]/, 1)[0];
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}
