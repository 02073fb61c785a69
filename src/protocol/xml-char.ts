/**
 * XML 1.0 section 2.2, the Char production:
 *
 *     Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
 *
 * Anything else (C0 controls but tab, CR and LF; a lone surrogate; U+FFFE,
 * U+FFFF) cannot be written in an XML document at all, not even as a
 * character reference: a server that reads one closes the stream, and what
 * went out in the same write is lost. So such text is refused before it is
 * written, never escaped or replaced (a replaced JID names someone else).
 */

// With the u flag a lone surrogate is one code point, outside every range here.
const NON_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The first code point of `text` that XML 1.0 cannot carry, as "U+FFFF", or undefined. */
export function nonXmlChar(text: string): string | undefined {
  const found = NON_CHAR.exec(text);
  if (found === null) return undefined;
  const cp = found[0].codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** A stanza that would carry a non-Char: built never, written never. */
export class UnwritableXml extends Error {
  readonly _tag = "UnwritableXml";
  constructor(
    readonly field: string,
    readonly character: string,
  ) {
    super(`the notification's ${field} contains ${character}, which XML 1.0 cannot carry`);
    this.name = "UnwritableXml";
  }
}

/** `text`, if XML 1.0 can carry all of it; else throws `UnwritableXml` naming `field`. */
export function xmlChars(field: string, text: string): string {
  const bad = nonXmlChar(text);
  if (bad !== undefined) throw new UnwritableXml(field, bad);
  return text;
}
