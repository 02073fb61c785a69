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
