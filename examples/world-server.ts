// A small world server on presence-notify/client: one player in the world
// for each session online, spawned and despawned as sessions come and go,
// right after its own restarts too (the client takes a snapshot on every
// connect when the daemon has `[notify] snapshot = true`).
//
//   WORLD_SERVICE=xmpp://127.0.0.1:5222 WORLD_JID=world@localhost \
//   WORLD_PASSWORD_FILE=/etc/world/password WORLD_COMPONENT=presence.localhost \
//   npx tsx examples/world-server.ts
//
// In your own project, import from "presence-notify/client".
import { readFileSync } from "node:fs";
import { createPresenceClient, type PresenceChange } from "../src/client.js";

interface Player {
  readonly session: string;
  readonly joinedAt: Date;
}

/** The game's side: what it does when a session comes and goes. */
class World {
  private readonly players = new Map<string, Player>();

  spawn(session: string): void {
    this.players.set(session, { session, joinedAt: new Date() });
    console.log(`+ ${session} joined (${this.players.size} in the world)`);
  }

  despawn(session: string): void {
    if (!this.players.delete(session)) return;
    console.log(`- ${session} left (${this.players.size} in the world)`);
  }
}

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    console.error(`set ${name} (see the comment at the top of examples/world-server.ts)`);
    process.exit(64);
  }
  return value;
}

const world = new World();
const client = createPresenceClient({
  service: setting("WORLD_SERVICE"),
  jid: setting("WORLD_JID"),
  password: readFileSync(setting("WORLD_PASSWORD_FILE"), "utf8").trim(),
  component: setting("WORLD_COMPONENT"),
  // Plaintext loopback in the example; drop this over TLS.
  ...(process.env.WORLD_SASL ? { sasl: process.env.WORLD_SASL } : {}),
});

// Changes carry a new snapshot's differences too (cause "snapshot"), so the
// world follows the view without reading snapshots itself.
client.on("change", (c: PresenceChange) => {
  if (c.presence === "available") world.spawn(c.user);
  else world.despawn(c.user);
});
client.on("snapshot", (s) =>
  console.log(`snapshot at position ${s.position} (${s.trigger}): ${s.sessions.length} online`),
);
client.on("warning", (w) => console.error(`warning: ${w}`));
client.on("fatal", (err) => {
  console.error(err.message);
  process.exitCode = 77;
});
client.on("health", (h) => {
  if (h.phase === "unspliced") {
    console.log("the daemon has no snapshot feature: sessions online before now are unknown");
  }
});

const stop = () => {
  console.log(`stopping: ${JSON.stringify(client.health())}`);
  void client.stop();
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
client.start();
