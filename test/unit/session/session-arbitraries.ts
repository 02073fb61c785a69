import fc from "fast-check";
import type { SessionEvent } from "../../../src/machines/session.js";

/**
 * Presence events as the server could send them, including the fields that
 * must NOT change a session's state (status, priority, the delay stamp's value).
 */
export const sessionEvent: fc.Arbitrary<SessionEvent> = fc.oneof(
  fc.record(
    {
      type: fc.constant("presence.available" as const),
      show: fc.constantFrom("chat" as const, "away" as const, "xa" as const, "dnd" as const),
      status: fc.string({ maxLength: 8 }),
      priority: fc.integer({ min: -128, max: 127 }),
      delay: fc.constantFrom("2024-05-01T12:00:00Z", "", "1970-01-01T00:00:00.123Z"),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({
    type: fc.constant("presence.unavailable" as const),
    cause: fc.constantFrom(
      "client" as const,
      "server" as const,
      "liveness" as const,
      "reconnect" as const,
    ),
  }),
  fc.constantFrom<SessionEvent>(
    { type: "liveness.ok" },
    { type: "liveness.failed" },
    { type: "resync.begin" },
    { type: "resync.lost" },
  ),
);

export const sessionEvents = fc.array(sessionEvent, { maxLength: 40 });
