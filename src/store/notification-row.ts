import type { SQLInputValue } from "node:sqlite";
import type { ResyncReason, ResyncSignal } from "../outbox/snapshot-signal.js";
import type { Notification, PresenceValue } from "../protocol/notification.js";
import { extrasText, parseExtras } from "../protocol/payload-fields.js";

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
  /** The opt-in payload fields as JSON (src/protocol/payload-fields.ts), or null. */
  extra: string | null;
  /** Schema version 5 (notify.snapshot): the position, and a resync signal's reason. */
  pos: number | null;
  resync: ResyncReason | null;
}

export const NOTIFICATION_COLUMNS =
  "trace, user, presence, to_jid, user_bare, queued_at, session_seq, extra, pos, resync";

/** One `?` per column of `NOTIFICATION_COLUMNS`. */
export const NOTIFICATION_PLACEHOLDERS = NOTIFICATION_COLUMNS.split(",")
  .map(() => "?")
  .join(", ");

/** The values for `NOTIFICATION_COLUMNS`, in order. */
export function rowValues(n: Notification): SQLInputValue[] {
  const { trace, user, presence, to, userBare, queuedAt, seq, pos } = n;
  const resync = (n as Partial<ResyncSignal>).resync;
  return [
    trace,
    user,
    presence,
    to,
    userBare,
    queuedAt,
    seq ?? null,
    extrasText(n),
    pos ?? null,
    resync ?? null,
  ];
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
    ...parseExtras(row.extra),
    ...(row.pos === null ? {} : { pos: row.pos }),
    ...(row.resync === null ? {} : { resync: row.resync }),
  };
}
