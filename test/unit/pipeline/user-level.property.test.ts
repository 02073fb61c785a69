import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { settle } from "../../support/memory-link.js";
import { ADVERTISEMENT, stamped } from "./resync-setup.js";
import { available, setup, unavailable } from "./setup.js";

// notify.level = "user" over any sequence of session events across the
// resources of a few users, the link dropping and coming back (the replay
// then drops the sessions that ended meanwhile): the user-level
// notifications are the model's. A user is available iff it has at least
// one available session; each edge is told once, none is missing.

const USERS = ["u", "v", "w"] as const;
const RESOURCES = ["1", "2", "3"] as const;
const jidOf = (user: string, r: string) => `${user}@localhost/${r}`;
const bareOf = (full: string) => full.slice(0, full.indexOf("/"));

interface Model {
  /** The server's truth: sessions online. */
  online: Set<string>;
  /** The sessions the daemon has heard of (its machines, when it is quiet). */
  heard: Set<string>;
  linkUp: boolean;
  /** Per user, the notifications the model expects, in order. */
  edges: Map<string, string[]>;
}

type Real = ReturnType<typeof setup>;

const countOf = (sessions: Set<string>, user: string) =>
  [...sessions].filter((s) => bareOf(s) === `${user}@localhost`).length;

/** The daemon's view moves to `next`: one edge per user whose count crossed 0. */
function hear(model: Model, next: Set<string>): void {
  for (const user of USERS) {
    const was = countOf(model.heard, user) > 0;
    const is = countOf(next, user) > 0;
    if (was === is) continue;
    const bare = `${user}@localhost`;
    model.edges.set(bare, [...(model.edges.get(bare) ?? []), is ? "available" : "unavailable"]);
  }
  model.heard = new Set(next);
}

class Online implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly full: string,
    readonly show: string,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    model.online.add(this.full);
    real.server.liveSessions.add(this.full);
    if (!model.linkUp) return;
    real.server.deliver(available(this.full, this.show && `<show>${this.show}</show>`));
    hear(model, model.online);
    await settle(2);
  }
  toString = () => `online(${this.full}${this.show && `, ${this.show}`})`;
}

class Offline implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly full: string,
    readonly lostSocket: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.online.has(this.full);
  async run(model: Model, real: Real) {
    model.online.delete(this.full);
    real.server.liveSessions.delete(this.full);
    if (!model.linkUp) return;
    real.server.deliver(
      this.lostSocket
        ? `<presence type="unavailable" from="${this.full}"><status>Disconnected: closed</status></presence>`
        : unavailable(this.full),
    );
    hear(model, model.online);
    await settle(2);
  }
  toString = () => `offline(${this.full}${this.lostSocket ? ", socket" : ""})`;
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

/** The link comes back; Prosody replays who is online; the resync settles. */
class Reconnect implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => !m.linkUp;
  async run(model: Model, real: Real) {
    model.linkUp = true;
    real.server.emit("connecting");
    real.server.deliver(ADVERTISEMENT);
    for (const full of model.online) real.server.deliver(stamped(full));
    real.server.online = true;
    real.server.emit("online");
    // With nothing replayed (nobody online), the daemon pings what it holds instead:
    // the in-memory server answers from `liveSessions`.
    for (let i = 0; i < 3; i++) {
      real.clock.increment(1_000);
      await settle(2);
    }
    hear(model, model.online);
  }
  toString = () => "reconnect";
}

class Wait implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    real.clock.increment(this.ms);
    await settle(2);
  }
  toString = () => `wait(${this.ms})`;
}

const full = fc
  .tuple(fc.constantFrom(...USERS), fc.constantFrom(...RESOURCES))
  .map(([u, r]) => jidOf(u, r));
const commands = fc.commands(
  [
    fc.tuple(full, fc.constantFrom("", "", "away", "dnd")).map(([f, s]) => new Online(f, s)),
    fc.tuple(full, fc.boolean()).map(([f, lost]) => new Offline(f, lost)),
    fc.constant(new Drop()),
    fc.constant(new Reconnect()),
    fc.constantFrom(100, 1_000, 5_000).map((ms) => new Wait(ms)),
  ],
  { maxCommands: 50 },
);

/** Per user (bare JID), the presences told, each notification checked for its resources. */
function toldPerUser(real: Real): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const n of real.notified()) {
    expect(n.user).not.toContain("/");
    expect(n.resources).toBe(n.presence === "available" ? 1 : 0);
    by.set(n.user, [...(by.get(n.user) ?? []), n.presence]);
  }
  return by;
}

async function quiet(model: Model, real: Real): Promise<void> {
  if (!model.linkUp) await new Reconnect().run(model, real);
  for (let i = 0; i < 4; i++) {
    real.clock.increment(10_000);
    await settle();
  }
}

describe("notify.level = user, for any sequence of session events (property)", () => {
  it("tells exactly the model's edges, per user, in order", async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const real = setup({ notify: { level: "user" } });
        real.server.connect();
        const model: Model = {
          online: new Set(),
          heard: new Set(),
          linkUp: true,
          edges: new Map(),
        };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await quiet(model, real);
        expect(toldPerUser(real), `${cmds}`).toEqual(model.edges);
        real.service.close();
      }),
      { numRuns: 100 },
    );
  });

  it("under flap damping and the per-user rate, alternates and ends in the truth", async () => {
    const stages = fc.record({
      flapWindowMs: fc.constantFrom(0, 500, 2_000),
      userRate: fc.constantFrom(0, 1, 3),
    });
    await fc.assert(
      fc.asyncProperty(stages, commands, async (notify, cmds) => {
        const real = setup({ notify: { level: "user", ...notify } });
        real.server.connect();
        const model: Model = {
          online: new Set(),
          heard: new Set(),
          linkUp: true,
          edges: new Map(),
        };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await quiet(model, real);
        const told = toldPerUser(real);
        for (const user of USERS) {
          const seq = told.get(`${user}@localhost`) ?? [];
          for (const [i, presence] of seq.entries()) {
            const expected = i % 2 === 0 ? "available" : "unavailable";
            expect(presence, `${user} #${i} after ${cmds}`).toBe(expected);
          }
          const last = seq.at(-1) ?? "unavailable";
          expect(last, `${user} after ${cmds}`).toBe(
            countOf(model.online, user) > 0 ? "available" : "unavailable",
          );
        }
        real.service.close();
      }),
      { numRuns: 100 },
    );
  });
});
