import { xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";

/** Parses one serialised element with xmpp.js's own streaming parser. */
export function parseXml(text: string): Element {
  const parser = new xml.Parser();
  let root: Element | undefined;
  let error: Error | undefined;
  parser.on("element", (el) => {
    root = el;
  });
  parser.on("error", (err) => {
    error = err;
  });
  // The parser emits top-level children of a stream; wrap like a stream does.
  parser.write(
    `<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams">${text}`,
  );
  if (error) throw error;
  if (!root) throw new Error(`no element parsed from ${text}`);
  return root;
}
