import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { available, setup, unavailable } from "./setup.js";

// Concurrency: one user's many resources coming and going while the
// component link drops and comes back, with the notifier's sends completing
// in an order fast-check's scheduler picks. Whatever the interleaving, once
// things are quiet the server user's view equals the server's truth.
//
// Regression it found: a wake (the link back online) that came while a send
// was in flight was dropped; when that send then failed (the link had
// broken under it), the notifier waited for a wake that had already passed,
// and the queued notification stayed until some other mail arrived.

const RESOURCES = ["r0", "r1", "r2", "r3"] as const;
const jid = (r: string) => `u@localhost/${r}`;
const replay = (full: string) =>
  available(full, `<delay xmlns="urn:xmpp:delay" stamp="2026-01-01T00:00:00Z"/>`);

interface Model {
  /** The server's truth: resources online. */
  online: Set<string>;
  linkUp: boolean;
}

type Real = ReturnType<typeof setup>;

/** The server tells the component what changed, when the link is up (Prosody drops it otherwise). */
function tell(real: Real, model: Model, stanza: string): void {
  real.server.liveSessions.clear();
  for (const r of model.online) real.server.liveSessions.add(jid(r));
  if (model.linkUp) real.server.deliver(stanza);
}

class Online implements fc.AsyncCommand<Model, Real> {
  constructor(readonly r: string) {}
  check = () => true;
  async run(model: Model, real: Real) {
    model.online.add(this.r);
    tell(real, model, available(jid(this.r)));
    await settle(2);
  }
  toString = () => `online(${this.r})`;
}

class Offline implements fc.AsyncCommand<Model, Real> {
  constructor(readonly r: string) {}
  check = (m: Readonly<Model>) => m.online.has(this.r);
  async run(model: Model, real: Real) {
    model.online.delete(this.r);
    tell(real, model, unavailable(jid(this.r)));
    await settle(2);
  }
  toString = () => `offline(${this.r})`;
}

class Drop implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.linkUp;
  async run(model: Model, real: Real) {
    model.linkUp = false;
    real.server.drop();
    await settle(2);
  }
  toString = () => "drop";
}

/** The link comes back; the server replays who is online (XEP-0203 delay), as Prosody does. */
class Reconnect implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => !m.linkUp;
  async run(model: Model, real: Real) {
    model.linkUp = true;
    real.server.connect();
    for (const r of model.online) tell(real, model, replay(jid(r)));
    await settle(2);
  }
  toString = () => "reconnect";
}

/** Time passes: the resync's settle window closes, pings time out. */
class Wait implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    real.clock.increment(this.ms);
    await settle(2);
  }
  toString = () => `wait(${this.ms})`;
}

const commands = fc.commands(
  [
    fc.constantFrom(...RESOURCES).map((r) => new Online(r)),
    fc.constantFrom(...RESOURCES).map((r) => new Offline(r)),
    fc.constant(new Drop()),
    fc.constant(new Reconnect()),
    fc.constantFrom(100, 1_000, 10_000).map((ms) => new Wait(ms)),
  ],
  { maxCommands: 40 },
);

describe("many resources of one user, racing reconnects", () => {
  it("end with the server user's view equal to the server's truth", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), commands, async (s, cmds) => {
        const real = setup({ liveness: { intervalMs: 30_000, timeoutMs: 10_000, maxRate: 0 } });
        // The notifier's sends complete in an order the scheduler picks,
        // interleaved with the commands.
        const send = real.server.send.bind(real.server);
        real.server.send = (el) => s.schedule(Promise.resolve(), "send").then(() => send(el));
        real.server.connect();
        const model: Model = { online: new Set(), linkUp: true };
        await fc.scheduledModelRun(s, () => ({ model, real }), cmds);
        // Quiet: the link up, the resync over, every send done.
        if (!model.linkUp) await new Reconnect().run(model, real);
        for (let i = 0; i < 4; i++) {
          real.clock.increment(10_000);
          await s.waitAll();
          await settle();
        }
        const view = new Map<string, string>();
        for (const n of real.notified()) view.set(n.user, n.presence);
        for (const r of RESOURCES) {
          const seen = view.get(jid(r)) ?? "unavailable";
          expect(seen, `${r} after ${cmds}`).toBe(
            model.online.has(r) ? "available" : "unavailable",
          );
        }
        real.service.close();
      }),
      { numRuns: 150 },
    );
  });
});
