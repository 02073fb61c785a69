import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type AnyStateMachine, type AnyStateNode, createMachine, StateMachine } from "xstate";
import { exportMachines, MACHINES } from "../../../src/inspect/machine-export.js";

// `export-machines` must export every machine in src/machines, and what it
// writes must be the same statechart: createMachine(JSON) has the live
// machine's states, transitions, timers and invocations.

const MACHINES_DIR = join(import.meta.dirname, "../../../src/machines");
const dir = mkdtempSync(join(tmpdir(), "pn-export-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything that makes up the drawing, node by node, from the root. */
function shape(machine: AnyStateMachine) {
  const nodes: Record<string, unknown> = {};
  const visit = (node: AnyStateNode) => {
    const transitions = [...node.transitions.values(), node.always ?? []].flat().map((t) => ({
      event: t.eventType,
      targets: (t.target ?? []).map((target: AnyStateNode) => target.id),
      guarded: t.guard !== undefined,
      actions: t.actions.length,
    }));
    nodes[node.id] = {
      type: node.type,
      initial: node.initial?.target.map((t: AnyStateNode) => t.id),
      transitions,
      invoke: node.invoke.map((i) => i.src),
      entry: node.entry.length,
    };
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return nodes;
}

describe("export-machines", () => {
  const written = exportMachines(dir);

  it("exports every machine defined in src/machines, and a guide", async () => {
    const defined: string[] = [];
    for (const file of readdirSync(MACHINES_DIR)) {
      const module: Record<string, unknown> = await import(join(MACHINES_DIR, file));
      for (const value of Object.values(module)) {
        if (value instanceof StateMachine) defined.push(value.id);
      }
    }
    expect(MACHINES.map((m) => m.machine.id).sort()).toEqual(defined.sort());
    expect(readdirSync(dir).sort()).toEqual(
      [...MACHINES.map((m) => `${m.file}.json`), "README.md"].sort(),
    );
    expect(written).toHaveLength(MACHINES.length + 1);
    const guide = readFileSync(join(dir, "README.md"), "utf8");
    for (const { file } of MACHINES) expect(guide).toContain(`${file}.json`);
  });

  it.each(MACHINES.map((m) => [m.file, m.machine] as const))(
    "%s.json round-trips through createMachine",
    (file, machine) => {
      const json = JSON.parse(readFileSync(join(dir, `${file}.json`), "utf8"));
      const back = createMachine(json);
      expect(back.id).toBe(machine.id);
      expect(shape(back)).toEqual(shape(machine));
    },
  );
});
