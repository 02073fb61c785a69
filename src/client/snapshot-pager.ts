import type { IqRequests } from "./iq-requests.js";
import { parsePage } from "./snapshot-page.js";
import { discoInfoRequest, NS_DISCO_INFO, NS_SNAPSHOT, snapshotRequest } from "./wire.js";

/**
 * Asking the daemon what it can do (XEP-0030) and paging its snapshot
 * (XEP-0059): the I/O half of the splice; src/client/view-splice.ts is the
 * other.
 */

export type SnapshotOutcome =
  | {
      readonly _tag: "complete";
      readonly position: number;
      readonly epoch: string | undefined;
      readonly sessions: readonly string[];
    }
  /** The daemon has the feature off (`service-unavailable`) or not at all. */
  | { readonly _tag: "unsupported"; readonly condition: string }
  /** Not a configured server user (`forbidden`): notifications only, and probably none. */
  | { readonly _tag: "refused"; readonly condition: string }
  /** Worth another try later: no answer, a malformed page, cursors that kept expiring. */
  | { readonly _tag: "failed"; readonly reason: string };

/** Whether the component advertises the snapshot feature (XEP-0030 section 3.1). */
export async function probe(iq: IqRequests, component: string): Promise<boolean> {
  const answer = await iq.request(component, (id) => discoInfoRequest(id, component));
  if (answer.type === "error") return false;
  const query = answer.stanza.getChild("query", NS_DISCO_INFO);
  return (query?.getChildren("feature") ?? []).some((f) => f.attrs.var === NS_SNAPSHOT);
}

const UNSUPPORTED = new Set(["service-unavailable", "feature-not-implemented"]);
const REFUSED = new Set(["forbidden", "not-authorized", "not-allowed"]);
/** Starting over after an expired cursor: a few times in a row, then back off. */
const RESTARTS = 3;

export async function takeSnapshot(
  iq: IqRequests,
  component: string,
  pageSize: number,
  signal?: AbortSignal,
): Promise<SnapshotOutcome> {
  for (let attempt = 0; attempt <= RESTARTS; attempt++) {
    const outcome = await pageThrough(iq, component, pageSize, signal);
    if (outcome !== "restart") return outcome;
  }
  return { _tag: "failed", reason: `the snapshot cursor expired ${RESTARTS + 1} times in a row` };
}

/** One pass from the first page; "restart" when the daemon forgot the snapshot meanwhile. */
async function pageThrough(
  iq: IqRequests,
  component: string,
  pageSize: number,
  signal: AbortSignal | undefined,
): Promise<SnapshotOutcome | "restart"> {
  const sessions: string[] = [];
  let first: { position: number; epoch: string | undefined } | undefined;
  let after: string | undefined;
  for (;;) {
    if (signal?.aborted) return { _tag: "failed", reason: "abandoned" };
    const answer = await iq.request(component, (id) =>
      snapshotRequest(id, component, pageSize, after),
    );
    if (answer.type === "error") {
      if (answer.condition === "item-not-found") return "restart";
      if (UNSUPPORTED.has(answer.condition))
        return { _tag: "unsupported", condition: answer.condition };
      if (REFUSED.has(answer.condition)) return { _tag: "refused", condition: answer.condition };
      return { _tag: "failed", reason: `the snapshot request failed: ${answer.condition}` };
    }
    const page = parsePage(answer.stanza);
    if (typeof page === "string") return { _tag: "failed", reason: page };
    first ??= { position: page.position, epoch: page.epoch };
    // Every page of one snapshot is frozen at the same position.
    if (page.position !== first.position || page.epoch !== first.epoch) return "restart";
    sessions.push(...page.sessions);
    const count = page.count;
    if (count !== undefined && sessions.length > count) {
      return {
        _tag: "failed",
        reason: `the snapshot sent more sessions than its count (${count})`,
      };
    }
    const done = page.sessions.length === 0 || (count !== undefined && sessions.length === count);
    if (done) return { _tag: "complete", ...first, sessions };
    if (page.last === after) return { _tag: "failed", reason: "the snapshot cursor did not move" };
    after = page.last;
  }
}
