import { createHash, timingSafeEqual } from "node:crypto";
import { inspect } from "node:util";

/**
 * The component secret, held so that it cannot leak by accident: string
 * conversion, JSON (and so pino) and `util.inspect`/`console.log` all print
 * "[redacted]". Reading it takes an explicit `.value()`, which is easy to
 * find in review: only the handshake should call it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  value(): string {
    return this.#value;
  }

  /**
   * Whether two secrets hold the same text, in time that does not depend on
   * where they differ: SHA-256 digests are equal-length, so timingSafeEqual
   * applies whatever the lengths.
   */
  equals(other: Secret | undefined): boolean {
    if (other === undefined) return false;
    return timingSafeEqual(digest(this.#value), digest(other.#value));
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/** Both absent, or both present and equal by value (constant time). */
export function sameSecret(a: Secret | undefined, b: Secret | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.equals(b);
}
