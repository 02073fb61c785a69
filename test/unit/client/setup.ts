import { SimulatedClock } from "xstate";
import { resolveClientOptions } from "../../../src/client/options.js";
import { ClientRuntime } from "../../../src/client/runtime.js";
import type {
  ClientHealth,
  PresenceChange,
  PresenceClientOptions,
  SnapshotEvent,
} from "../../../src/client/types.js";
import { settle } from "../../support/memory-link.js";
import {
  COMPONENT,
  MemoryPresencePeer,
  type PeerOptions,
  WORLD,
} from "../../support/memory-presence-peer.js";

/** A client against an in-memory peer, on a simulated clock, recording what it reports. */
export function clientAgainst(
  peerOptions: PeerOptions = {},
  options: Partial<PresenceClientOptions> = {},
) {
  const peer = new MemoryPresencePeer(peerOptions);
  const clock = new SimulatedClock();
  const settings = resolveClientOptions({
    service: "xmpp://127.0.0.1:1",
    jid: WORLD,
    password: "pw",
    component: COMPONENT,
    clock,
    random: () => 0,
    pageSize: 2,
    reconnect: { initial: 1_000, max: 8_000 },
    ...options,
  });
  const client = new ClientRuntime(settings, peer.connector);
  const changes: PresenceChange[] = [];
  const snapshots: SnapshotEvent[] = [];
  const warnings: string[] = [];
  const fatal: Error[] = [];
  const health: ClientHealth[] = [];
  client.on("change", (c) => changes.push(c));
  client.on("snapshot", (s) => snapshots.push(s));
  client.on("warning", (w) => warnings.push(w));
  client.on("fatal", (e) => fatal.push(e));
  client.on("health", (h) => health.push(h));

  /** The view as `watch` rebuilds it: the last snapshot, then the changes after it. */
  const replayed = (): Set<string> => {
    const view = new Set<string>();
    for (const c of changes) {
      if (c.presence === "available") view.add(c.user);
      else view.delete(c.user);
    }
    return view;
  };

  /** Answers IQs and delivers queued mail until nothing moves; reconnects on the way. */
  const flush = async (): Promise<void> => {
    for (let round = 0; round < 200; round++) {
      await settle();
      if (!peer.connected) {
        clock.increment(60_000);
        await settle();
        continue;
      }
      if (peer.answer()) continue;
      if (peer.deliver()) continue;
      await settle();
      if (peer.requests.length > 0 || peer.pending.length > 0) continue;
      if (/^(live|unspliced)$/.test(client.health().phase)) return;
      clock.increment(60_000); // a retry waiting on its backoff
    }
    throw new Error(`no quiescence: ${JSON.stringify(client.health())}`);
  };

  return {
    peer,
    clock,
    client,
    changes,
    snapshots,
    warnings,
    fatal,
    health,
    replayed,
    flush,
    settle,
  };
}

export const sorted = (set: ReadonlySet<string>) => [...set].sort();
