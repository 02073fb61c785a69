import type { Client } from "@xmpp/client";
import { xml } from "@xmpp/component";
import { type ProsodyServer, startProsody } from "../../src/servers/prosody.js";
import { DaemonProcess } from "./daemon.js";
import { WorldServer } from "./world.js";
import { connectUser, stopQuietly } from "./xmpp-users.js";

export const COMPONENT = "presence.localhost";
export const SECRET = "e2e-component-secret";
export const PASSWORD = "pw";

/**
 * One end-to-end scene: a real Prosody, the real daemon process, a world
 * server user per domain and real users. Everything it starts, it stops.
 */
export class Scenario {
  server!: ProsodyServer;
  readonly daemons: DaemonProcess[] = [];
  readonly clients: Client[] = [];
  readonly worlds: WorldServer[] = [];

  async start(options: { domains?: string[]; users: string[] }): Promise<this> {
    const domains = options.domains ?? ["localhost"];
    this.server = await startProsody({ domains, component: { domain: COMPONENT, secret: SECRET } });
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
      ...extra,
    ].join("\n");
  }

  async daemon(config: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
    const daemon = new DaemonProcess(config, env).start();
    this.daemons.push(daemon);
    await daemon.waitForLog({ msg: "privileges granted by the server" });
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
