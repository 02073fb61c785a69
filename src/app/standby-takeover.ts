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
 * With `notify.snapshot`, every server user is also sent the resync signal
 * (reason `takeover`): a consumer that kept its view across the gap takes a
 * new snapshot rather than trust that nothing fell between the two daemons.
 */
export function announceTakeover(
  daemon: Pick<Daemon, "service">,
  takeover: Takeover,
  logger: Logger,
): void {
  daemon.service.counters.inc("standby_takeovers");
  daemon.service.outbox.snapshot?.resync("takeover");
  logger.info(
    { event: "standby_takeover", continuity: "kept", ...takeover },
    "standby: took over from the daemon that held the state file",
  );
}
