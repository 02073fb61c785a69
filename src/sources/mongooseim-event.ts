import type { SessionEvent } from "../machines/session.js";
import { type FullJid, parseFullJid } from "../protocol/jid.js";

/**
 * One presence event as MongooseIM's mod_event_pusher (RabbitMQ backend)
 * publishes it: `{"user_id":"alice@localhost/res1","present":true}`, compact
 * JSON, routing key = the user's bare JID. Newer versions may add keys; they
 * are ignored. The routing key is not trusted: `user_id` says who.
 *
 * Nothing from the broker is trusted either: anything but a JSON object with
 * a session's full JID and a boolean is a reason, never an exception.
 */
export type MongooseImEvent =
  | { ok: true; jid: FullJid; event: SessionEvent }
  | { ok: false; reason: string; from?: string };

/** MongooseIM's messages are well under 1 KiB; a JID is at most 3 x 1023 bytes. */
export const MAX_EVENT_BYTES = 16 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });

export function parseMongooseImEvent(content: Uint8Array): MongooseImEvent {
  if (content.byteLength > MAX_EVENT_BYTES) {
    return { ok: false, reason: `larger than ${MAX_EVENT_BYTES} bytes` };
  }
  let text: string;
  try {
    text = decoder.decode(content);
  } catch {
    return { ok: false, reason: "not UTF-8" };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "not a JSON object" };
  }
  const { user_id: userId, present } = value as Record<string, unknown>;
  if (typeof userId !== "string") return { ok: false, reason: "user_id is not a string" };
  if (typeof present !== "boolean") {
    return { ok: false, reason: "present is not true or false", from: userId };
  }
  const parsed = parseFullJid(userId);
  if (!parsed.ok) return { ok: false, reason: `user_id: ${parsed.reason}`, from: userId };
  return {
    ok: true,
    jid: parsed.jid,
    // MongooseIM says "offline" for an explicit goodbye and a dead socket alike.
    event: present
      ? { type: "presence.available" }
      : { type: "presence.unavailable", cause: "server" },
  };
}
