import { EventEmitter } from "node:events";
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import { redactUrl } from "../config/url.js";
import type { Clock } from "../otp/clock.js";
import type { Counters } from "../telemetry/counters.js";
import type { Logger } from "../telemetry/log.js";
import { excerpt, LogLimiter } from "../telemetry/log-limiter.js";
import { parseMongooseImEvent } from "./mongooseim-event.js";
import type { PresenceSink } from "./presence-source.js";

export interface RabbitMqSourceOptions {
  /** amqp(s)://user:password@host:port/vhost; never logged as is. */
  url: string;
  exchange: string;
  exchangeDurable: boolean;
  queue: string;
  /** Declare the queue with x-single-active-consumer: of several daemons, the broker feeds one. */
  singleActiveConsumer?: boolean;
  prefetch: number;
  sink: PresenceSink;
  clock: Clock;
  counters: Counters;
  logger: Logger;
}

/** How often a message held back by a full queue is offered again. */
const FULL_RETRY_MS = 100;

/**
 * The consumer of MongooseIM's presence exchange: one connection, one
 * channel, one consumer on our own durable queue bound with "#".
 *
 * It makes one attempt at a time; the supervised actor around it
 * (`src/actors/rabbitmq-source.ts`) decides when to try again, with backoff,
 * so amqplib's own opt-in recovery stays off (one owner for reconnection).
 * Every connect declares the exchange, the queue and the binding again,
 * because a restarted broker has forgotten a non-durable exchange and the
 * binding to it.
 *
 * Acknowledgements: a message is acked once the sink has taken it (in
 * durable mode the router's transaction has committed by then); a message
 * that is not a presence event is acked too (requeueing poison would loop)
 * and counted `rabbitmq_rejected`. While the notification queue is full the
 * head message is held, unacknowledged, and offered again every 100 ms;
 * so is a message whose commit the state file refused (durable mode), and
 * every one after it until the file takes commits again;
 * `prefetch` bounds what waits behind it, and the broker keeps the rest.
 * Unacknowledged messages go back to the queue when the channel closes.
 *
 * Emits "down" (reason) once when an established connection is lost.
 */
export class RabbitMqSource extends EventEmitter {
  private model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private pending: ConsumeMessage[] = [];
  private retry: unknown;
  private heldLogged = false;
  /** Failures caused by what a message held: logged 1st, 2nd, 4th... */
  private readonly failures = new LogLimiter(16);

  constructor(private readonly options: RabbitMqSourceOptions) {
    super();
  }

  /** Where, without the password: for logs. */
  get broker(): string {
    return redactUrl(this.options.url);
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  /** Connects, declares, consumes. Rejects with a sentence that never holds the password. */
  async connect(): Promise<void> {
    const { url, exchange, exchangeDurable, queue, prefetch } = this.options;
    let model: ChannelModel;
    try {
      model = await amqp.connect(url, { timeout: 10_000 });
    } catch (err) {
      throw new Error(`cannot connect to ${this.broker}: ${this.scrub(err)}`);
    }
    // 'close' follows every 'error'; without a listener an 'error' would throw.
    model.on("error", () => undefined);
    try {
      const channel = await model.createChannel();
      channel.on("error", () => undefined);
      await this.declare(channel);
      await channel.prefetch(prefetch);
      // Before consume: the broker delivers what waits in the queue at once,
      // possibly before consume's reply is read, and deliver() checks these.
      this.model = model;
      this.channel = channel;
      await channel.consume(
        queue,
        (msg) => {
          // Runs inside amqplib's frame handling: nothing may throw out of it.
          try {
            if (msg === null)
              this.lost(channel, "the broker cancelled the consumer (queue deleted?)");
            else this.deliver(channel, msg);
          } catch (err) {
            this.failed("delivery", err, "rabbitmq delivery failed");
          }
        },
        { noAck: false },
      );
      model.once("close", (err?: Error) =>
        this.lost(channel, err ? `connection closed: ${this.scrub(err)}` : "connection closed"),
      );
      channel.once("close", () => this.lost(channel, "channel closed"));
      this.options.logger.info(
        { broker: this.broker, exchange, exchange_durable: exchangeDurable, queue, prefetch },
        "rabbitmq source connected",
      );
    } catch (err) {
      this.reset();
      model.close().catch(() => undefined);
      throw err;
    }
  }

  /** Stops consuming and closes; unacknowledged messages go back to the queue. */
  async close(): Promise<void> {
    const model = this.model;
    this.reset();
    await model?.close().catch(() => undefined);
  }

  private async declare(channel: Channel): Promise<void> {
    const { exchange, exchangeDurable, queue } = this.options;
    try {
      await channel.assertExchange(exchange, "topic", { durable: exchangeDurable });
    } catch (err) {
      if (isPreconditionFailed(err)) {
        // RabbitMQ closes the channel on 406; MongooseIM's module fails the
        // same way when it declares second. Say which setting to change.
        const message = /inequivalent arg 'type'/.test(String(err))
          ? `the exchange "${exchange}" exists with another type than "topic": set MongooseIM's presence_exchange.type = "topic" (the default), or point source.rabbitmq.exchange at a topic exchange (broker: ${this.scrub(err)})`
          : `the exchange "${exchange}" already exists with durable = ${!exchangeDurable}: set source.rabbitmq.exchange_durable = ${!exchangeDurable} to match MongooseIM's presence_exchange.durable, or delete the exchange (broker: ${this.scrub(err)})`;
        this.options.logger.error({ event: "rabbitmq_exchange_mismatch", exchange }, message);
        throw new Error(message);
      }
      throw new Error(`cannot declare the exchange "${exchange}": ${this.scrub(err)}`);
    }
    const single = this.options.singleActiveConsumer === true;
    try {
      await channel.assertQueue(queue, {
        durable: true,
        // https://www.rabbitmq.com/docs/consumers#single-active-consumer
        ...(single ? { arguments: { "x-single-active-consumer": true } } : {}),
      });
      await channel.bindQueue(queue, exchange, "#");
    } catch (err) {
      throw new Error(
        `cannot declare or bind the queue "${queue}"${this.queueHint(err)} (${this.scrub(err)})`,
      );
    }
  }

  /** What to do about a queue that exists with other arguments (406 PRECONDITION_FAILED). */
  private queueHint(err: unknown): string {
    if (!isPreconditionFailed(err)) return "";
    if (!/x-single-active-consumer/.test(String(err))) {
      return ": it exists with other arguments; delete it or choose another source.rabbitmq.queue";
    }
    const { queue, singleActiveConsumer } = this.options;
    const [has, setting] = singleActiveConsumer ? ["without", "on"] : ["with", "off"];
    return `: it exists ${has} x-single-active-consumer and source.rabbitmq.single_active_consumer is ${setting}; RabbitMQ never changes an existing queue's arguments (nor can a policy set this one): move to a new source.rabbitmq.queue, or delete "${queue}" while no daemon consumes it (README, "A standby that takes over")`;
  }

  private deliver(channel: Channel, msg: ConsumeMessage): void {
    if (channel !== this.channel) return;
    this.pending.push(msg);
    if (this.pending.length === 1) this.safePump(channel);
  }

  /** A throw here would stop the pump with messages pending: drop the connection instead. */
  private safePump(channel: Channel): void {
    try {
      this.pump(channel);
    } catch (err) {
      this.failed("consumer", err, "rabbitmq consumer failed");
      this.lost(channel, "consumer failed");
    }
  }

  private failed(key: string, err: unknown, message: string): void {
    this.options.counters.inc("rabbitmq_handler_errors");
    const hit = this.failures.hit(key);
    if (!hit.log) return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.options.logger.error(
      { err: excerpt(error.message), stack: excerpt(error.stack, 2_000), count: hit.count },
      message,
    );
  }

  /**
   * A message that makes the reading or the refusing throw is poison: acked
   * like any message that is not a presence event (a requeue would bring it
   * back at once, and again), counted and rate-logged.
   */
  private read(msg: ConsumeMessage): ReturnType<typeof parseMongooseImEvent> | undefined {
    try {
      const parsed = parseMongooseImEvent(msg.content);
      if (!parsed.ok) {
        this.options.sink.refuse(
          "rabbitmq_rejected",
          parsed.reason,
          parsed.from ?? msg.fields.routingKey,
        );
      }
      return parsed;
    } catch (err) {
      this.failed("read", err, "rabbitmq message could not be read: acknowledged and dropped");
      return undefined;
    }
  }

  /** Hands the pending messages to the sink in delivery order; stops at a full queue. */
  private pump(channel: Channel): void {
    const { sink, counters, logger, clock } = this.options;
    this.retry = undefined;
    while (channel === this.channel && this.pending.length > 0) {
      const msg = this.pending[0] as ConsumeMessage;
      const parsed = this.read(msg);
      if (parsed === undefined || !parsed.ok) {
        channel.ack(msg);
        this.pending.shift();
        continue;
      }
      const storeDown = sink.writable?.() === false;
      if (storeDown || !sink.hasRoom()) {
        if (!this.heldLogged) {
          this.heldLogged = true;
          logger.warn(
            { held: this.pending.length },
            storeDown
              ? "state file not writable: broker messages held unacknowledged until it is"
              : "notification queue full: broker messages held unacknowledged until there is room",
          );
        }
        counters.inc(storeDown ? "rabbitmq_held_store" : "rabbitmq_held_full");
        this.retry = clock.setTimeout(() => this.safePump(channel), FULL_RETRY_MS);
        return;
      }
      this.heldLogged = false;
      let taken: boolean;
      try {
        taken = sink.accept(parsed.jid, parsed.event);
      } catch (err) {
        // Not taken (a state file that cannot be written, say): leave it
        // unacknowledged, drop the connection so the broker requeues it,
        // and let the actor reconnect after its backoff.
        this.failed("accept", err, "rabbitmq message handler failed");
        this.lost(channel, "message handler failed");
        return;
      }
      if (!taken) {
        // Its commit failed (the daemon keeps it): held like a full queue's.
        counters.inc("rabbitmq_held_store");
        this.retry = clock.setTimeout(() => this.safePump(channel), FULL_RETRY_MS);
        return;
      }
      channel.ack(msg);
      this.pending.shift();
      counters.inc("rabbitmq_accepted");
    }
  }

  private lost(channel: Channel, reason: string): void {
    if (channel !== this.channel) return;
    const model = this.model;
    this.reset();
    model?.close().catch(() => undefined);
    this.emit("down", reason);
  }

  private reset(): void {
    if (this.retry !== undefined) this.options.clock.clearTimeout(this.retry);
    this.retry = undefined;
    this.pending = [];
    this.model = undefined;
    this.channel = undefined;
  }

  /** An error's message with the URL's password taken out, whatever quoted it. */
  private scrub(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    let forms: string[] = [];
    try {
      const { password } = new URL(this.options.url);
      forms = [password, decodeURIComponent(password)];
    } catch {}
    return forms
      .filter((form) => form !== "")
      .reduce((scrubbed, form) => scrubbed.replaceAll(form, "[redacted]"), text);
  }
}

function isPreconditionFailed(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 406 || /PRECONDITION_FAILED/.test(String(err));
}
