/**
 * The queues the admin listener reports (metrics `queue_depth` and
 * `queue_capacity`, the dashboard's queue bars). Reporting another queue is
 * one entry in `queuesOf`, e.g. `awaiting_receipts: { size: () => x.size,
 * capacity: x.capacity }`.
 */
export interface Queue {
  size(): number;
  readonly capacity: number;
}

export interface QueueOwners {
  readonly mailbox: { readonly size: number; readonly capacity: number };
  readonly held: { readonly size: number };
  /** With notify.receipt_timeout: sent, awaiting a XEP-0184 receipt. */
  readonly awaiting?: { readonly size: number } | undefined;
  /** Durable mode: transitions whose commit the state file refused, kept in memory. */
  readonly uncommitted?: { readonly size: number } | undefined;
}

export function queuesOf(outbox: QueueOwners): Record<string, Queue> {
  return {
    mailbox: { size: () => outbox.mailbox.size, capacity: outbox.mailbox.capacity },
    // Held mail is bounded by the mailbox capacity too (src/outbox/outbox.ts).
    held: { size: () => outbox.held.size, capacity: outbox.mailbox.capacity },
    // Sending pauses when as many await a receipt as the mailbox holds.
    ...(outbox.awaiting
      ? {
          awaiting_receipts: {
            size: () => outbox.awaiting?.size ?? 0,
            capacity: outbox.mailbox.capacity,
          },
        }
      : {}),
    // Kept while the state file refuses commits, at most a mailbox's worth.
    ...(outbox.uncommitted
      ? {
          uncommitted: {
            size: () => outbox.uncommitted?.size ?? 0,
            capacity: outbox.mailbox.capacity,
          },
        }
      : {}),
  };
}
