import { randomBytes } from "node:crypto";
import type { Element } from "@xmpp/xml";
import type { Clock } from "../otp/clock.js";
import { errorCondition } from "./wire.js";

/**
 * IQ requests of one connection (RFC 6120 section 8.2.3): each answered by
 * the result or error with its id from the entity it was sent to, or failed
 * after a timeout on the injected clock, or when the connection closes.
 */

export type IqAnswer =
  | { readonly type: "result"; readonly stanza: Element }
  | { readonly type: "error"; readonly condition: string };

/** The request got no answer: timed out, or the connection went. */
export class IqFailed extends Error {
  readonly _tag = "IqFailed";
}

interface Pending {
  readonly to: string;
  readonly resolve: (answer: IqAnswer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: unknown;
}

export class IqRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly prefix = randomBytes(4).toString("hex");
  private next = 0;
  private closed: string | undefined;

  constructor(
    private readonly send: (stanza: Element) => Promise<void>,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  /** Sends `build(id)` (which must carry `to`) and waits for its answer. */
  request(to: string, build: (id: string) => Element): Promise<IqAnswer> {
    if (this.closed !== undefined) return Promise.reject(new IqFailed(this.closed));
    const id = `${this.prefix}-${++this.next}`;
    return new Promise<IqAnswer>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new IqFailed(`no answer from ${to} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { to, resolve, reject, timer });
      this.send(build(id)).catch((err: Error) => this.fail(id, `cannot send: ${err.message}`));
    });
  }

  /** Routes an IQ result or error; false when it answers nothing of ours. */
  answer(stanza: Element): boolean {
    const id = stanza.attrs.id ?? "";
    const waiting = this.pending.get(id);
    // RFC 6120 section 8.1.2.1: the answer comes from where the request went.
    if (!waiting || stanza.attrs.from !== waiting.to) return false;
    this.pending.delete(id);
    this.clock.clearTimeout(waiting.timer);
    waiting.resolve(
      stanza.attrs.type === "result"
        ? { type: "result", stanza }
        : { type: "error", condition: errorCondition(stanza) ?? "undefined-condition" },
    );
    return true;
  }

  /** Fails every pending request and any later one. */
  close(reason: string): void {
    this.closed = reason;
    for (const id of [...this.pending.keys()]) this.fail(id, reason);
  }

  private fail(id: string, reason: string): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    this.clock.clearTimeout(waiting.timer);
    waiting.reject(new IqFailed(reason));
  }
}
