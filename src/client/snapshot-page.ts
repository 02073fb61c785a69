import type { Element } from "@xmpp/xml";
import { NS_RSM, NS_SNAPSHOT } from "./wire.js";

/**
 * One page of a snapshot result:
 *
 *     <snapshot xmlns="urn:flux:presence:snapshot:0" position="P" epoch="E">
 *       <session user="alice@example.com/phone"/> ...
 *       <set xmlns="http://jabber.org/protocol/rsm">
 *         <first index="0">ID:0</first><last>ID:499</last><count>1000</count>
 *       </set>
 *     </snapshot>
 *
 * XEP-0059 section 2.1: `<first index>` is the position of the page's first
 * item in the whole set, `<count>` the size of the set, `<last>` the cursor
 * the next page asks to come after. An empty page has no first or last.
 */
export interface SnapshotPage {
  readonly position: number;
  readonly epoch: string | undefined;
  readonly sessions: readonly string[];
  readonly index: number | undefined;
  readonly last: string | undefined;
  readonly count: number | undefined;
}

const WHOLE = /^[0-9]{1,16}$/;

function wholeNumber(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined || !WHOLE.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The page an IQ result carries, or a sentence saying what is wrong with it. */
export function parsePage(iq: Element): SnapshotPage | string {
  const snapshot = iq.getChild("snapshot", NS_SNAPSHOT);
  if (!snapshot) return "a snapshot result without <snapshot/>";
  const position = wholeNumber(snapshot.attrs.position);
  if (position === undefined) return "a snapshot without a whole-number position";
  const sessions: string[] = [];
  for (const session of snapshot.getChildren("session")) {
    const user = session.attrs.user;
    if (user === undefined || user === "") return "a snapshot session without a user";
    sessions.push(user);
  }
  const set = snapshot.getChild("set", NS_RSM);
  const first = set?.getChild("first");
  const index = wholeNumber(first?.attrs.index);
  const countText = set?.getChildText("count");
  const count = wholeNumber(countText);
  if (countText !== null && countText !== undefined && count === undefined) {
    return "a snapshot page whose RSM count is not a whole number";
  }
  const last = set?.getChildText("last") ?? undefined;
  if (sessions.length > 0 && (last === undefined || last === "")) {
    return "a snapshot page with sessions but no RSM <last/> cursor";
  }
  return { position, epoch: snapshot.attrs.epoch, sessions, index, last, count };
}
