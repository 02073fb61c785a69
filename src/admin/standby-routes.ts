import type { Clock } from "../otp/clock.js";
import { PREFIX } from "./counter-families.js";
import { type StandbyStatus, standbyReadiness } from "./readiness.js";
import { type Route, type Routes, reply } from "./server.js";

/**
 * What the admin listener answers while the daemon stands by (no daemon
 * runs yet, so none of its parts can be read): alive, not ready with the
 * reason "standby", a /status that says since when and how often it tries,
 * and two gauges, so a scrape and an alert see a standby rather than a
 * silence. Everything else is 503 until the takeover attaches the daemon.
 */
export function standbyRoutes(
  clock: Pick<Clock, "now">,
  startedAt: number,
  status: () => StandbyStatus,
): Routes {
  const readiness = () => standbyReadiness(status());
  const later: Route = (_req, res) =>
    reply(res, 503, { error: "standby: this endpoint answers once the daemon takes over" });
  return {
    "/healthz": (_req, res) => reply(res, 200, { status: "alive" }),
    "/readyz": (_req, res) => reply(res, 503, readiness()),
    "/status": (_req, res) => {
      const now = clock.now();
      const s = status();
      reply(res, 200, {
        at: new Date(now).toISOString(),
        uptimeS: Math.round((now - startedAt) / 1000),
        status: readiness(),
        standby: {
          path: s.path,
          since: new Date(s.since).toISOString(),
          attempts: s.attempts,
          lastAttemptAt: new Date(s.lastAttemptAt).toISOString(),
          pollIntervalMs: s.pollIntervalMs,
        },
      });
    },
    "/metrics": (_req, res) => {
      const gauge = (name: string, help: string, value: number) =>
        `# HELP ${PREFIX}${name} ${help}\n# TYPE ${PREFIX}${name} gauge\n${PREFIX}${name} ${value}\n`;
      res.writeHead(200, {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(
        gauge("standby", "1 while the daemon waits for the state file's lock", 1) +
          gauge("ready", "1 while the daemon can do its job: never while standing by", 0),
      );
    },
    "/tree": later,
    "/events": later,
    "/": later,
    "/dashboard": later,
  };
}
