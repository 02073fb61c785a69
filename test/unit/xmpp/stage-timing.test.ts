import { describe, expect, it } from "vitest";
import { PresenceStages } from "../../../src/telemetry/presence-stages.js";
import { wireReader } from "../../support/wire.js";

// The read, parse and route stages of src/telemetry/presence-stages.ts, as
// the stream guard times them on the component's real read path. Time is a
// number the test moves: a stanza's handlers "take" 2 ms by moving it.

function timedWire() {
  let t = 1_000;
  const stages = new PresenceStages(() => t);
  const wire = wireReader(undefined, undefined, stages);
  const advance = (ms: number) => {
    t += ms;
  };
  wire.entity.on("stanza", () => advance(2));
  const sums = () => {
    const s = stages.snapshot();
    return {
      read: s.read.sum * 1000,
      parse: s.parse.sum * 1000,
      route: s.route.sum * 1000,
      count: s.read.count,
    };
  };
  return { wire, stages, advance, sums };
}

const presence = (n: number) => `<presence from='u${n}@localhost/r' to='presence.localhost'/>`;

describe("presence stages on the read path", () => {
  it("a presence waits in its read behind the stanzas before it", () => {
    const { wire, sums } = timedWire();
    wire.write(presence(1) + presence(2) + presence(3));
    expect(wire.stanzas).toHaveLength(3);
    // Each handler took 2 ms: the 2nd waited 2, the 3rd 4; each route 2.
    expect(sums()).toEqual({ read: 6, parse: 0, route: 6, count: 3 });
  });

  it("a presence split across reads waits for its end in parse, not read", () => {
    const { wire, advance, sums } = timedWire();
    const text = `<presence from='u@localhost/r' to='presence.localhost'><status>half`;
    wire.write(text);
    advance(3);
    wire.write("</status></presence>");
    expect(wire.stanzas).toHaveLength(1);
    expect(sums()).toEqual({ read: 0, parse: 3, route: 2, count: 1 });
  });

  it("times presences only: other stanzas and refused ones are not counted", () => {
    const { wire, sums } = timedWire();
    wire.write("<iq type='result' id='x' from='localhost' to='presence.localhost'/>");
    wire.write(`<presence from='u@localhost/r'>${"<x>".repeat(40)}${"</x>".repeat(40)}</presence>`);
    expect(wire.refused).toHaveLength(1);
    expect(sums().count).toBe(0);
    wire.write(presence(1));
    expect(sums().count).toBe(1);
  });
});
