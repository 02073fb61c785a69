import type { Element } from "@xmpp/xml";
import { settle } from "../../support/memory-link.js";
import { SpliceConsumer } from "../../support/splice-consumer.js";
import { type SetupOptions, setup } from "../pipeline/setup.js";

export const WORLD = "world@localhost";
export const WORLD_FULL = `${WORLD}/backend`;
export const NS_SNAPSHOT = "urn:flux:presence:snapshot:0";

/**
 * The service with `notify.snapshot` on, against the in-memory server, and
 * the server user `world@localhost/backend` as a splice consumer reading
 * what the server delivered to it: notifications and signals on one queue,
 * IQ results on another, so a test can interleave the two at will.
 */
export function snapshotScene(options: SetupOptions = {}, max = 2) {
  const t = setup({ ...options, notify: { snapshot: true, ...options.notify } });
  const consumer = new SpliceConsumer({ component: t.server.domain, max });
  let read = 0;
  const messages: Element[] = [];
  const results: Element[] = [];
  /** Moves what the server delivered since the last call onto the two queues. */
  const collect = () => {
    for (; read < t.server.sent.length; read++) {
      const s = t.server.sent[read] as Element;
      if (s.name === "message" && s.attrs.to === WORLD) messages.push(s);
      if (s.name === "iq" && s.attrs.to === WORLD_FULL) results.push(s);
    }
  };
  /** The server user sends `iq` (from its full JID). */
  const ask = (iq: Element) => {
    iq.attrs.from = WORLD_FULL;
    t.server.deliver(iq.toString());
  };
  /** Pages until the consumer rests on a complete snapshot (bounded). */
  const syncFully = async () => {
    for (let i = 0; i < 10_000 && consumer.syncing; i++) {
      const request = consumer.nextRequest();
      if (request) ask(request);
      await settle(3);
      collect();
      for (const s of [...messages.splice(0), ...results.splice(0)]) consumer.receive(s);
      // A refused request (asked too often): wait for the bucket.
      if (!request) t.clock.increment(1_000);
    }
  };
  return { ...t, consumer, messages, results, collect, ask, syncFully };
}

/** An IQ get to the component, from `from`, with `payload` (text) inside. */
export const iq = (from: string, payload: string, id = "q1", type = "get") =>
  `<iq type='${type}' id='${id}' from='${from}' to='presence.localhost'>${payload}</iq>`;

export const snapshotRequest = (rsm = "") =>
  `<snapshot xmlns='${NS_SNAPSHOT}'>${rsm === "" ? "" : `<set xmlns='http://jabber.org/protocol/rsm'>${rsm}</set>`}</snapshot>`;
