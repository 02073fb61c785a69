import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { type ProsodyServer, startProsody } from "../../src/launcher/prosody.js";
import { type EjabberdServer, startEjabberd } from "../../testkit/ejabberd.js";
import { DaemonProcess } from "./daemon.js";
import { WorldServer } from "./world.js";
import { connectUser, stopQuietly } from "./xmpp-users.js";

export const COMPONENT = "presence.localhost";
export const SECRET = "e2e-component-secret";
export const PASSWORD = "pw";

/** The servers every end-to-end file runs against (describe.each). */
export const SERVERS = ["prosody", "ejabberd"] as const;
export type ServerKind = (typeof SERVERS)[number];

/**
 * What the daemon is told about each server in the e2e suite. ejabberd does
 * not report a dropped socket to a component, nor replay presences on
 * connect (SERVERS.md): the daemon's liveness checks (short here, so tests
 * stay short) and ejabberd's session list (HTTP API) make up for it.
 */
export const LIVENESS = { intervalS: 2, timeoutS: 1 };

/**
 * One end-to-end scene: a real Prosody or ejabberd, the real daemon process,
 * a world server user per domain and real users. Everything it starts, it stops.
 */
export class Scenario {
  server!: ProsodyServer | EjabberdServer;

  constructor(readonly kind: ServerKind = "prosody") {}
  readonly daemons: DaemonProcess[] = [];
  readonly clients: Client[] = [];
  readonly worlds: WorldServer[] = [];

  /** `guard: false` starts the server without mod_presence_notify_guard (default: with it). */
  async start(options: { domains?: string[]; users: string[]; guard?: boolean }): Promise<this> {
    const domains = options.domains ?? ["localhost"];
    const component = { domain: COMPONENT, secret: SECRET };
    const guard = options.guard ?? true;
    this.server =
      this.kind === "prosody"
        ? await startProsody({ domains, component, guard })
        : await startEjabberd({ domains, component, httpApi: true, guard });
    await this.server.registerMany(
      options.users.map((jid) => {
        const [user = "", host = ""] = jid.split("@");
        return { user, host, password: PASSWORD };
      }),
    );
    return this;
  }

  /** The TOML a test's daemon runs with; `notify` lines are the test's own. */
  config(
    notify: string[],
    extra: string[] = [],
    componentPort = this.server.componentPort,
  ): string {
    return [
      "[component]",
      `service = "xmpp://127.0.0.1:${componentPort}"`,
      `domain = "${COMPONENT}"`,
      `secret = "${SECRET}"`,
      "[notify]",
      ...notify,
      "[reconnect]",
      'initial = "100ms"',
      'max = "1s"',
      "[log]",
      'level = "debug"',
      ...(this.server.kind === "ejabberd"
        ? [
            "[resync]",
            `ejabberd_api = "http://127.0.0.1:${this.server.httpApiPort}/api"`,
            "[liveness]",
            `interval = "${LIVENESS.intervalS}s"`,
            `timeout = "${LIVENESS.timeoutS}s"`,
          ]
        : []),
      ...extra,
      // Any free port: several daemons may run at once (the default is 9464).
      ...(extra.includes("[admin]") ? [] : ["[admin]", 'listen = "127.0.0.1:0"']),
    ].join("\n");
  }

  /** Starts a daemon and waits until the server granted it its privileges. */
  async daemon(config: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
    const daemon = this.spawnDaemon(config, env);
    await daemon.waitForLog({ msg: "privileges granted by the server" });
    return daemon;
  }

  /** Starts a daemon process without waiting for anything. */
  spawnDaemon(config: string, env: Record<string, string> = {}): DaemonProcess {
    const daemon = new DaemonProcess(config, env).start();
    this.daemons.push(daemon);
    return daemon;
  }

  async world(username: string, domain = "localhost"): Promise<WorldServer> {
    const world = await new WorldServer(this.server, username, domain, PASSWORD).connect();
    this.worlds.push(world);
    return world;
  }

  /** Logs a user in and sends initial presence; returns the client. */
  async online(jid: string, resource: string, presence = xml("presence")): Promise<Client> {
    const [username = "", domain = ""] = jid.split("@");
    const entity = await connectUser({
      service: `xmpp://127.0.0.1:${this.server.c2sPort}`,
      domain,
      username,
      password: PASSWORD,
      resource,
    });
    this.clients.push(entity);
    await entity.send(presence);
    return entity;
  }

  async stop(): Promise<void> {
    try {
      for (const daemon of this.daemons) {
        await daemon.stop();
        daemon.cleanup();
      }
      for (const client of this.clients) await stopQuietly(client);
      for (const world of this.worlds) await world.stop();
    } finally {
      await this.server?.stop();
    }
  }
}
