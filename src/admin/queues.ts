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

export function queuesOf(pipeline: QueueOwners): Record<string, Queue> {
  return {
    mailbox: { size: () => pipeline.mailbox.size, capacity: pipeline.mailbox.capacity },
    // Held mail is bounded by the mailbox capacity too (pipeline.ts).
    held: { size: () => pipeline.held.size, capacity: pipeline.mailbox.capacity },
    // Sending pauses when as many await a receipt as the mailbox holds.
    ...(pipeline.awaiting
      ? {
          awaiting_receipts: {
            size: () => pipeline.awaiting?.size ?? 0,
            capacity: pipeline.mailbox.capacity,
          },
        }
      : {}),
    // Kept while the state file refuses commits, at most a mailbox's worth.
    ...(pipeline.uncommitted
      ? {
          uncommitted: {
            size: () => pipeline.uncommitted?.size ?? 0,
            capacity: pipeline.mailbox.capacity,
          },
        }
      : {}),
  };
}
