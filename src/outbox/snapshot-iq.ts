import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { canonicalLocalpart, parseJid } from "../protocol/jid.js";
import type { Counters } from "../telemetry/counters.js";
import type { Snapshot } from "./snapshot.js";
import { PAGE, type Page } from "./snapshot-pages.js";
import { NS_SNAPSHOT } from "./snapshot-signal.js";

export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** The RFC 6120 section 8.3.3 conditions the component answers with, and their types (8.3.2). */
const ERROR_TYPES = {
  "bad-request": "modify",
  forbidden: "auth",
  "service-unavailable": "cancel",
  "item-not-found": "cancel",
  "feature-not-implemented": "cancel",
  "resource-constraint": "wait",
} as const;

export type Condition = keyof typeof ERROR_TYPES;

/** An IQ error reply (RFC 6120 8.3): the condition and a sentence, never the request echoed. */
export function iqError(iq: Element, from: string, condition: Condition, text: string): Element {
  return xml(
    "iq",
    { type: "error", id: iq.attrs.id, from, to: iq.attrs.from },
    xml(
      "error",
      { type: ERROR_TYPES[condition] },
      xml(condition, { xmlns: NS_STANZAS }),
      xml("text", { xmlns: NS_STANZAS }, text),
    ),
  );
}

export function iqResult(iq: Element, from: string, payload?: Element): Element {
  return xml("iq", { type: "result", id: iq.attrs.id, from, to: iq.attrs.from }, payload);
}

/** XEP-0030 section 3.1: who the component is and what it answers. */
export function discoInfo(iq: Element, from: string, snapshot: boolean): Element {
  const features = [NS_DISCO_INFO, "urn:xmpp:ping", ...(snapshot ? [NS_SNAPSHOT, NS_RSM] : [])];
  return iqResult(
    iq,
    from,
    xml(
      "query",
      { xmlns: NS_DISCO_INFO },
      xml("identity", { category: "component", type: "presence", name: "presence-notify" }),
      ...features.map((v) => xml("feature", { var: v })),
    ),
  );
}

/** What a snapshot request asks for: a page size (0: the count only) and where to go on. */
export interface PageRequest {
  readonly max: number;
  readonly after?: string;
}

type Parsed =
  | { ok: true; request: PageRequest }
  | { ok: false; condition: Condition; text: string };

const bad = (text: string): Parsed => ({ ok: false, condition: "bad-request", text });
const MAX_TEXT = /^\s*\d+\s*$/;

/**
 * The `<snapshot/>` payload: nothing, or one XEP-0059 `<set/>` with at most
 * one `<max/>` and one `<after/>`. `<before/>` and `<index/>` (paging
 * backwards, jumping: section 2.5, 2.6) are not offered. A `max` above the
 * cap is not an error (section 2.1: the responder may return fewer).
 */
export function parsePageRequest(snapshot: Element): Parsed {
  const children = snapshot.getChildElements();
  if (children.length === 0) return { ok: true, request: { max: PAGE.defaultMax } };
  const [set] = children;
  if (children.length > 1 || set === undefined || !set.is("set", NS_RSM)) {
    return bad(
      "a snapshot request holds nothing or one <set xmlns='http://jabber.org/protocol/rsm'/>",
    );
  }
  let max: number | undefined;
  let after: string | undefined;
  for (const child of set.getChildElements()) {
    if (child.getNS() !== NS_RSM) return bad("an element of another namespace in <set/>");
    if (child.name === "before" || child.name === "index") {
      return {
        ok: false,
        condition: "feature-not-implemented",
        text: "snapshots are paged forwards only, with <after/>",
      };
    }
    const text = child.getText();
    if (child.name === "max" && max === undefined) {
      if (!MAX_TEXT.test(text)) return bad("<max/> is a whole number of items");
      max = Math.min(Number(text), PAGE.max);
    } else if (child.name === "after" && after === undefined) {
      if (text === "") return bad("<after/> names the last item of the page before");
      after = text;
    } else {
      return bad("<set/> holds one <max/> and one <after/> at most, and nothing else");
    }
  }
  return {
    ok: true,
    request: { max: max ?? PAGE.defaultMax, ...(after === undefined ? {} : { after }) },
  };
}

/**
 * Page results not yet written to the socket, at most: a server user that
 * asks faster than the link writes gets `resource-constraint` instead of
 * growing the daemon's buffers.
 */
export const PAGES_IN_FLIGHT = 8;

/**
 * The snapshot IQ: from a server user (its canonical bare JID is
 * `notify.server_user` at a served domain) to the component, a page of the
 * sessions available on that server user's domain. Anyone else gets
 * `forbidden` (RFC 6120 8.3.3.5), a malformed request `bad-request`.
 */
export class SnapshotIq {
  #inFlight = 0;

  constructor(
    private readonly deps: {
      snapshot: Pick<Snapshot, "view" | "pages">;
      /** The component's domain: the replies' `from`. */
      domain: () => string;
      serverUser: () => string;
      serves: (domain: string) => boolean;
      send: (el: Element) => Promise<void>;
      /** Counts and logs (limited) a refused request. */
      refuse: (reason: string, from: string | undefined) => void;
      counters: Counters;
    },
  ) {}

  /** Answers `iq` (a get whose one payload is `<snapshot/>`), once. */
  request(iq: Element, payload: Element): void {
    const { from } = iq.attrs;
    const domain = this.#serverUserDomain(from);
    if (domain === undefined) {
      this.deps.refuse("snapshot asked for by someone not a server user", from);
      this.#reply(iq, "forbidden", "only a server user may ask for the snapshot of its domain");
      return;
    }
    const parsed = parsePageRequest(payload);
    if (!parsed.ok) {
      this.deps.refuse("malformed snapshot request", from);
      this.#reply(iq, parsed.condition, parsed.text);
      return;
    }
    if (this.#inFlight >= PAGES_IN_FLIGHT) {
      this.#reply(iq, "resource-constraint", "pages are asked for faster than they can be sent");
      return;
    }
    const { view, pages } = this.deps.snapshot;
    const { max, after } = parsed.request;
    const page =
      after === undefined
        ? pages.first(domain, view.sessions(domain), view.position, max)
        : pages.after(domain, after, max);
    if ("condition" in page) {
      this.deps.counters.inc("snapshot_refused");
      this.#reply(iq, page.condition, page.text);
      return;
    }
    // A first page with items froze (copied) the view: what the rate limit bounds.
    if (after === undefined && max > 0) this.deps.counters.inc("snapshots_taken");
    this.#page(iq, page);
  }

  /** The user domain whose server user sent `from`, if one did. */
  #serverUserDomain(from: string | undefined): string | undefined {
    const parsed = from === undefined ? undefined : parseJid(from);
    if (!parsed?.ok) return undefined;
    const { local, domain } = parsed.jid;
    if (local !== canonicalLocalpart(this.deps.serverUser())) return undefined;
    return this.deps.serves(domain) ? domain : undefined;
  }

  #page(iq: Element, page: Page): void {
    const set = xml(
      "set",
      { xmlns: NS_RSM },
      ...(page.first === undefined
        ? []
        : [
            xml("first", { index: String(page.first.index) }, page.first.uid),
            xml("last", {}, page.last),
          ]),
      xml("count", {}, String(page.count)),
    );
    const result = iqResult(
      iq,
      this.deps.domain(),
      xml(
        "snapshot",
        { xmlns: NS_SNAPSHOT, position: String(page.position) },
        ...page.items.map((user) => xml("session", { user })),
        set,
      ),
    );
    this.deps.counters.inc("snapshot_pages");
    this.#inFlight++;
    this.deps
      .send(result)
      .catch(() => this.deps.counters.inc("iq_replies_failed"))
      .finally(() => this.#inFlight--);
  }

  #reply(iq: Element, condition: Condition, text: string): void {
    this.deps
      .send(iqError(iq, this.deps.domain(), condition, text))
      .catch(() => this.deps.counters.inc("iq_replies_failed"));
  }
}
