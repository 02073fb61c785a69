import amqp, { type Channel, type ChannelModel } from "amqplib";

/**
 * What MongooseIM's mod_event_pusher RabbitMQ backend does, byte for byte
 * (MongooseIM itself is not installable here): compact JSON
 * {"user_id": full JID, "present": bool}, routing key = the lowercased bare
 * JID, non-persistent, to a topic exchange, on a confirm channel.
 */
/** One MongooseIM publisher: its own connection, like the server's pool. */
export class MongooseImPublisher {
  private model: ChannelModel | undefined;
  private channel: Channel | undefined;
  private confirms: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    readonly exchange = "presence",
    private readonly durable = false,
  ) {}

  /** `declare`: as mod_event_pusher does at start; false to prove someone else did. */
  async connect(declare = true): Promise<this> {
    this.model = await amqp.connect(this.url);
    this.model.on("error", () => undefined);
    this.channel = await this.model.createConfirmChannel();
    this.channel.on("error", () => undefined);
    if (declare) {
      await this.channel.assertExchange(this.exchange, "topic", { durable: this.durable });
    } else {
      await this.channel.checkExchange(this.exchange);
    }
    return this;
  }

  /** What mod_event_pusher_rabbit publishes for one session going online or offline. */
  presence(userId: string, present: boolean): void {
    const bare = (userId.split("/")[0] ?? "").toLowerCase();
    this.raw(bare, JSON.stringify({ user_id: userId, present }));
  }

  raw(routingKey: string, body: string | Buffer): void {
    const channel = this.channel as unknown as {
      publish(e: string, k: string, c: Buffer, o: object, cb: (err: unknown) => void): boolean;
    };
    const confirmed = new Promise<void>((resolve, reject) =>
      channel.publish(
        this.exchange,
        routingKey,
        Buffer.from(body),
        { persistent: false, contentType: "application/json" },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    // A publish cut by a broker stop is lost, as for MongooseIM; only flush() cares.
    confirmed.catch(() => undefined);
    this.confirms.push(confirmed);
  }

  /** Resolves once the broker has confirmed everything published so far. */
  async flush(): Promise<void> {
    const confirms = this.confirms;
    this.confirms = [];
    await Promise.all(confirms);
  }

  async close(): Promise<void> {
    await this.model?.close().catch(() => undefined);
    this.model = undefined;
  }
}
