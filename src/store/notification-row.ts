import type { ResyncReason, ResyncSignal } from "../outbox/snapshot-signal.js";
import type { Notification, PresenceValue } from "../protocol/notification.js";

/**
 * A notification as a row: the columns the `outbox` and `held` tables share
 * (src/store/schema.ts), and the one mapping each way.
 */
export interface NotificationRow {
  trace: string;
  user: string;
  presence: PresenceValue;
  to_jid: string;
  user_bare: string;
  queued_at: number;
  session_seq: number | null;
  /** Schema version 4 (notify.snapshot): the position, and a resync signal's reason. */
  pos: number | null;
  resync: ResyncReason | null;
}

export const NOTIFICATION_COLUMNS =
  "trace, user, presence, to_jid, user_bare, queued_at, session_seq, pos, resync";

/** One `?` for each of `NOTIFICATION_COLUMNS`. */
export const NOTIFICATION_VALUES = "?, ?, ?, ?, ?, ?, ?, ?, ?";

/** The values for `NOTIFICATION_COLUMNS`, in order. */
export function rowValues(n: Notification): unknown[] {
  const { trace, user, presence, to, userBare, queuedAt, seq, pos } = n;
  const resync = (n as Partial<ResyncSignal>).resync;
  return [trace, user, presence, to, userBare, queuedAt, seq ?? null, pos ?? null, resync ?? null];
}

export function toNotification(row: NotificationRow): Notification {
  return {
    trace: row.trace,
    user: row.user,
    presence: row.presence,
    to: row.to_jid,
    userBare: row.user_bare,
    queuedAt: row.queued_at,
    ...(row.session_seq === null ? {} : { seq: row.session_seq }),
    ...(row.pos === null ? {} : { pos: row.pos }),
    ...(row.resync === null ? {} : { resync: row.resync }),
  };
}
