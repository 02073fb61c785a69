import type { Logger } from "../telemetry/log.js";
import type { Daemon } from "./daemon.js";
import type { Takeover } from "./standby.js";

/**
 * A standby has taken over (src/app/standby.ts): the dead active's state
 * file is restored and the daemon is started. Called once, right after
 * `startDaemon`.
 *
 * Continuity is kept: every notification the active had committed is in
 * the outbox, every session it believed available is restored, and the
 * first connection's resync settles them against the server (Prosody's
 * replay, ejabberd's session list or pings), so a session that ended
 * during the gap is reported gone and one that began is announced.
 *
 * The resync signal of issue #17 item 2 ("take a new snapshot") belongs
 * here: a consumer that opted in may want one after a takeover even so.
 * This is the one call site to wire it to.
 */
export function announceTakeover(
  daemon: Pick<Daemon, "service">,
  takeover: Takeover,
  logger: Logger,
): void {
  daemon.service.counters.inc("standby_takeovers");
  logger.info(
    { event: "standby_takeover", continuity: "kept", ...takeover },
    "standby: took over from the daemon that held the state file",
  );
}
