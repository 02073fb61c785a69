import { type RabbitMqServer, startRabbitMq } from "../../testkit/rabbitmq.js";
import { AdminClient } from "./admin-client.js";
import { ChaosState, injectDiskFull } from "./chaos-disk.js";
import { ChaosLog } from "./chaos-log.js";
import { converge, type Truth } from "./chaos-oracle.js";
import { deck, Rng } from "./chaos-rng.js";
import { type ChaosOptions, faultWeights, replayArgs } from "./chaos-xmpp.js";
import { MongooseImPublisher } from "./mongooseim-publisher.js";
import { Scenario } from "./scenario.js";
import { TcpProxy } from "./tcp-proxy.js";
import { waitFor } from "./xmpp-users.js";

/**
 * The chaos run on the broker route (MongooseIM's mod_event_pusher through
 * RabbitMQ; Prosody as the component port, as in rabbitmq.test.ts). The
 * truth is what the harness published and the broker confirmed; it only
 * publishes real transitions, and the daemon sees every event, so in
 * durable mode each session's notifications must be exactly its
 * transitions. Events MongooseIM would lose (published while the broker is
 * down, or sitting in a queue the broker drops) are MongooseIM's loss, not
 * the daemon's: the harness publishes nothing then, and restarts the broker
 * only after a quiet point.
 */
class Publisher implements Truth {
  /** The wire: what mod_event_pusher_rabbit sends (test/harness/mongooseim-publisher.ts). */
  private wire: MongooseImPublisher | undefined;
  private readonly present = new Map<string, boolean>();
  private readonly published = new Map<string, number>();
  private sessions = 0;

  constructor(
    private readonly rng: Rng,
    private readonly accounts: number,
    private readonly target: number,
  ) {}

  async connect(url: string): Promise<void> {
    this.wire = await new MongooseImPublisher(url).connect();
  }

  online(): ReadonlyMap<string, boolean> {
    return this.present;
  }

  flips(): ReadonlyMap<string, number> {
    return this.published;
  }

  /** One session event, as mod_event_pusher_rabbit publishes it. */
  act(): string {
    const live = [...this.present].filter(([, p]) => p).map(([jid]) => jid);
    const offline = [...this.present].filter(([, p]) => !p).map(([jid]) => jid);
    const choice = this.rng.weighted({
      come: live.length < this.target ? 4 : 1,
      go: live.length > 0 ? 3 : 0,
      back: offline.length > 0 ? 1 : 0,
    });
    const jid =
      choice === "come"
        ? `chaos${this.rng.int(0, this.accounts - 1)}@localhost/r${this.sessions++}`
        : this.rng.pick(choice === "go" ? live : offline);
    const present = choice !== "go";
    this.present.set(jid, present);
    this.published.set(jid, (this.published.get(jid) ?? 0) + 1);
    this.publish(jid.split("/")[0] ?? "", JSON.stringify({ user_id: jid, present }));
    return `${present ? "online" : "offline"} ${jid}`;
  }

  /** Events the daemon must refuse (and ack) without moving anyone. */
  hostile(): string {
    const kind = this.rng.pick(["not-json", "no-user", "huge", "bad-jid"] as const);
    const body = {
      "not-json": "{present: yes",
      "no-user": JSON.stringify({ present: true }),
      huge: JSON.stringify({ user_id: `chaos0@localhost/${"x".repeat(200_000)}`, present: true }),
      "bad-jid": JSON.stringify({ user_id: "chaos0@@localhost/r", present: true }),
    }[kind];
    this.publish("chaos0@localhost", body);
    return `hostile ${kind}`;
  }

  private publish(routingKey: string, body: string): void {
    if (this.wire === undefined) throw new Error("the chaos publisher is not connected");
    this.wire.raw(routingKey.toLowerCase(), body);
  }

  async flush(): Promise<void> {
    await this.wire?.flush();
  }

  async close(): Promise<void> {
    await this.wire?.close();
    this.wire = undefined;
  }
}

export const BROKER_FAULTS = [
  "daemon-kill",
  "daemon-term",
  "broker-restart",
  "link-cut",
  "world-away",
  "hostile",
  "disk-full",
] as const;
export type BrokerFault = (typeof BROKER_FAULTS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runBrokerChaos(options: ChaosOptions): Promise<ChaosLog> {
  const log = new ChaosLog("broker", options.seed, options.mode, options.echo);
  log.replayArgs = replayArgs(options);
  if (options.mode !== "durable") {
    // A memory-mode daemon acknowledges events it then loses at a kill:
    // documented, and not what this route's oracle judges.
    log.failure = "the broker route runs in durable mode only";
    return log;
  }
  const rng = new Rng(options.seed);
  const scene = new Scenario("prosody");
  const state = ChaosState.open("durable", "pn-chaos-broker-");
  const publisher = new Publisher(rng, options.accounts ?? 16, options.sessions ?? 24);
  let broker: RabbitMqServer | undefined;
  let proxy: TcpProxy | undefined;
  try {
    const [started] = await Promise.all([
      startRabbitMq(),
      scene.start({ users: ["world@localhost"] }),
    ]);
    broker = started;
    const rabbit = started;
    proxy = await new TcpProxy(scene.server.componentPort).start();
    const link = proxy;
    const world = await scene.world("world");
    const config = scene.config(
      ['server_user = "world"', 'receipt_timeout = "5s"', 'sequence = "session"'],
      [
        "[liveness]",
        "max_rate = 0",
        "[durability]",
        'mode = "sqlite"',
        `path = "${state.path}"`,
        "[source.rabbitmq]",
        `url = "${rabbit.url}"`,
        'queue = "presence-notify-chaos"',
      ],
      proxy.port,
    );
    let admin: AdminClient | undefined;
    const startDaemon = async () => {
      const d = await scene.daemon(config);
      await d.waitForLog({ msg: "rabbitmq source connected" });
      admin = await AdminClient.of(d);
      return d;
    };
    let daemon = await startDaemon();
    await publisher.connect(rabbit.url);

    const churn = async (n: number) => {
      for (let i = 0; i < n; i++) {
        log.action(publisher.act());
        await sleep(rng.int(0, 20));
      }
    };

    const inject = async (fault: BrokerFault) => {
      log.fault(fault);
      switch (fault) {
        case "daemon-kill":
          await publisher.flush();
          await daemon.kill();
          await churn(rng.int(3, 10));
          await publisher.flush();
          daemon = await startDaemon();
          break;
        case "daemon-term": {
          await publisher.flush();
          const code = await daemon.stop();
          if (code !== 0) log.note(`SIGTERM: the daemon exited ${code}, not 0`);
          await churn(rng.int(3, 10));
          await publisher.flush();
          daemon = await startDaemon();
          break;
        }
        case "broker-restart": {
          // Only after a quiet point: what sits unconsumed in the queue at a
          // broker stop is lost by the broker (non-persistent), not the daemon.
          if (!(await quiet("before broker-restart"))) return false;
          const connects = daemon.logs.filter((l) => l.msg === "rabbitmq source connected").length;
          await publisher.close();
          await rabbit.restart();
          const current = daemon;
          await waitFor(
            () =>
              current.logs.filter((l) => l.msg === "rabbitmq source connected").length > connects,
            60_000,
            "the daemon to reconnect to the restarted broker",
          );
          await publisher.connect(rabbit.url);
          break;
        }
        case "link-cut":
          link.cut();
          await churn(rng.int(3, 10));
          break;
        case "world-away":
          await world.stop();
          await churn(rng.int(3, 10));
          await world.connect();
          break;
        case "hostile": {
          const n = rng.int(3, 8);
          for (let i = 0; i < n; i++) log.action(publisher.hostile());
          break;
        }
        case "disk-full":
          return injectDiskFull({
            fs: state.fs as NonNullable<typeof state.fs>,
            log,
            rng,
            churn,
            daemon: () => daemon,
            admin: () => admin as AdminClient,
            settle: () => publisher.flush(),
          });
      }
      return true;
    };

    const quiet = async (label: string) => {
      await publisher.flush();
      let verdict = await converge(world, publisher, "durable", async () => 0, 25_000);
      if (verdict.diffs.length === 0) {
        await sleep(1_000);
        verdict = await converge(world, publisher, "durable", async () => 0, 0);
      }
      state.sample();
      return log.check(label, verdict);
    };

    await churn(options.sessions ?? 24);
    if (!(await quiet("warm-up"))) return log;
    const stopAt = Date.now() + options.durationMs;
    const weights = faultWeights<BrokerFault>(
      {
        "daemon-kill": 2,
        "daemon-term": 1,
        "broker-restart": 1,
        "link-cut": 2,
        "world-away": 2,
        hostile: 2,
        "disk-full": 1,
      },
      options.only,
      { "disk-full": state.diskFullUnavailable },
    );
    const nextFault = deck(rng, weights);
    // Past the time only to deal each fault kind once.
    for (let round = 1; Date.now() < stopAt || nextFault.pending() > 0; round++) {
      await churn(rng.int(4, 16));
      const fault = nextFault();
      if (!(await inject(fault))) return log;
      await churn(rng.int(0, 6));
      if (!(await quiet(`after ${fault} #${round}`))) return log;
    }
    log.note(state.describePeak());
    return log;
  } catch (err) {
    log.failure = `the run itself failed: ${(err as Error).stack ?? err}`;
    return log;
  } finally {
    try {
      await publisher.close();
      await scene.stop().catch(() => undefined);
      await proxy?.stop();
      await broker?.stop();
    } finally {
      // After the daemons are gone (their state file is on it), whatever failed.
      state.close();
    }
  }
}
